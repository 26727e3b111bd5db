"""Services of training rounds: the state machine, researcher actions, and the phases workers run."""

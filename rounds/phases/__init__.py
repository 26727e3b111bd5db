"""A round's phases, one module each, sharing one shape (rounds.phases.base): sampling, labeling, reward
model, policy optimisation, evaluation."""

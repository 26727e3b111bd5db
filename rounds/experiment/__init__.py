"""Oracle experiments: several rounds of the loop with simulated labelers, judged by an oracle."""

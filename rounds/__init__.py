"""Training rounds: the closed summarize-from-feedback loop (sample, label, reward model, PPO, evaluate)."""

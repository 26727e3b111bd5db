"""PPO fine-tuning of a policy against a reward model (Huang et al. 2024, "The N+ Implementation Details of RLHF with PPO")."""

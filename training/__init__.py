"""Policy models, sampling and PPO for Arbiter; pure Python + torch, never imports Django."""

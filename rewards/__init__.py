"""Reward models for Arbiter: preference data, training with TRL, scoring; never imports Django."""

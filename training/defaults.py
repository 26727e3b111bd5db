"""Defaults shared by every ML config (sampling, reward model, PPO, evaluation, rounds); free of torch imports."""

DEFAULT_INSTRUCTION_TEMPLATE = "Summarise the following text in one sentence.\n\n{text}"
"""User message built from each prompt; `{text}` is replaced by the prompt text."""

DEFAULT_MAX_NEW_TOKENS = 53
"""Response length cap in tokens (Huang et al. 2024 use 53 for TL;DR summaries)."""

"""Configuration of a reward-model training run; saved as JSON beside the weights."""

from __future__ import annotations

from dataclasses import dataclass

from training.defaults import DEFAULT_INSTRUCTION_TEMPLATE
from training.lora import LORA_DEFAULT_TARGETS, LoraSettings


@dataclass
class RewardConfig:
    max_length: int = 512
    """Tokens per sequence (prompt + response + EOS); longer prompts are cut from the left, never dropped."""
    instruction_template: str = DEFAULT_INSTRUCTION_TEMPLATE
    """User message wrapping each prompt ({text}); must match the policy's, so scores see PPO's layout."""
    learning_rate: float = 2e-5
    """AdamW peak learning rate, linear decay after warmup."""
    num_epochs: float = 1.0
    """Passes over the training pairs (1 epoch avoids RM overfitting, Ouyang et al. 2022)."""
    max_steps: int = -1
    """Stop after this many optimiser steps; -1 means run num_epochs."""
    batch_size: int = 8
    """Preference pairs per device step (each pair is two sequences)."""
    gradient_accumulation_steps: int = 1
    """Device steps per optimiser step."""
    warmup_ratio: float = 0.05
    """Fraction of the optimiser steps spent warming the learning rate up."""
    weight_decay: float = 0.0
    """AdamW weight decay."""
    adam_eps: float = 1e-8
    """AdamW epsilon (PyTorch's default)."""
    freeze_layers: int = 0
    """Freeze the embeddings and this many lowest transformer blocks (0 = full fine-tune); cuts CPU cost."""
    use_margins: bool = True
    """Use per-pair margins from the data in the loss -log sigmoid(r_c - r_r - m) (Touvron et al. 2023)."""
    gradient_checkpointing: bool = False
    """Recompute activations in backward: less memory, ~30% more compute."""
    eval_batch_size: int = 16
    """Sequences per forward pass when scoring."""
    reference_limit: int = 256
    """At most this many reference outputs (train chosen responses by default) set the reward offset."""
    calibration_bins: int = 10
    """Bins of model confidence for the calibration table."""
    logging_steps: int = 10
    """Optimiser steps between logged training losses."""
    seed: int = 0
    """Seeds head initialisation and data order."""
    lora_r: int = 0
    """LoRA rank on the backbone (the scalar head trains in full); 0 means full fine-tuning.
    The saved model has the adapters merged in, so scoring and PPO load it like any other."""
    lora_alpha: float | None = None
    """LoRA scale numerator; None means 2 * lora_r."""
    lora_dropout: float = 0.05
    """Dropout on LoRA inputs during reward training (peft / TRL examples use 0.05)."""
    lora_target_modules: str = LORA_DEFAULT_TARGETS
    """Comma-separated module names to adapt (e.g. q_proj,v_proj), or all-linear."""

    def __post_init__(self) -> None:
        if self.max_length < 8:
            raise ValueError("max_length must be at least 8")
        if "{text}" not in self.instruction_template:
            raise ValueError("instruction_template must contain the placeholder {text}")
        if self.learning_rate <= 0 or self.num_epochs <= 0:
            raise ValueError("learning_rate and num_epochs must be positive")
        if self.batch_size < 1 or self.gradient_accumulation_steps < 1 or self.eval_batch_size < 1:
            raise ValueError("batch sizes and gradient_accumulation_steps must be >= 1")
        if self.freeze_layers < 0 or self.reference_limit < 1:
            raise ValueError("freeze_layers must be >= 0 and reference_limit >= 1")
        if not 0 <= self.warmup_ratio < 1:
            raise ValueError("warmup_ratio must be in [0, 1)")
        if self.lora_r and self.freeze_layers:
            raise ValueError("freeze_layers and lora_r are alternatives: LoRA already freezes the base")
        _ = self.lora  # validates the LoRA fields

    @property
    def lora(self) -> LoraSettings:
        return LoraSettings(self.lora_r, self.lora_alpha, self.lora_dropout, self.lora_target_modules)

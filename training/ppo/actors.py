"""The models of a PPO run: policy, reference and value model, in full or with LoRA adapters.

With LoRA the reference is the policy's own base with its adapters disabled, so its weights are held
once; checkpoints then hold only adapters, and the final policy is merged into a plain model folder.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from transformers import AutoModelForCausalLM, PreTrainedModel, PreTrainedTokenizerBase

from training.loading import default_dtype
from training.lora import is_lora, lineage_write, lora_apply, lora_load, lora_merged
from training.ppo.config import PPOConfig
from training.ppo.rollout import Batch, load_scalar_model, response_logprobs

if TYPE_CHECKING:
    from peft import PeftModel


def _dropout_off(model: torch.nn.Module) -> None:
    """Zero every dropout, so train mode (needed for activation checkpointing) computes the eval function."""
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    config = getattr(model, "config", None)
    for name in ("attention_dropout", "attn_pdrop", "resid_pdrop", "embd_pdrop", "hidden_dropout"):
        if config is not None and isinstance(getattr(config, name, None), float):
            setattr(config, name, 0.0)


@dataclass
class Actors:
    policy: PreTrainedModel | PeftModel
    value_model: PreTrainedModel | PeftModel
    reference: PreTrainedModel | None
    """A separate frozen copy for full fine-tuning; None with LoRA (the adapters are switched off instead)."""
    gradient_checkpointing: bool = False

    def reference_logprobs(self, batch: Batch, *, temperature: float) -> torch.Tensor:
        """Log-probs (B, R) of the response tokens under the initial policy."""
        if self.reference is not None:
            return response_logprobs(self.reference, batch, temperature=temperature)[0]
        with self.policy.disable_adapter():  # type: ignore[operator]
            return response_logprobs(self.policy, batch, temperature=temperature)[0]

    def trainable(self) -> list[torch.nn.Parameter]:
        return [p for m in (self.policy, self.value_model) for p in m.parameters() if p.requires_grad]

    def update_mode(self) -> AbstractContextManager[None]:
        """Train mode during updates only when activation checkpointing needs it (dropout is zero)."""
        if not self.gradient_checkpointing:
            return nullcontext()
        return _TrainMode(self.policy, self.value_model)


class _TrainMode:
    def __init__(self, *models: torch.nn.Module) -> None:
        self.models = models

    def __enter__(self) -> None:
        for model in self.models:
            model.train()

    def __exit__(self, *exc: object) -> None:
        for model in self.models:
            model.eval()


def actors_load(
    *,
    config: PPOConfig,
    policy_dir: Path,
    value_init_dir: Path,
    device: torch.device,
    checkpoint_policy: Path | None = None,
    checkpoint_value: Path | None = None,
) -> Actors:
    """Load the run's models; a checkpoint's folders (full weights or adapters) replace the starting points."""
    lora = config.lora
    # Trained weights stay fp32 (bf16 autocast on CUDA); frozen ones take the device's default dtype.
    base_dtype = default_dtype(device) if lora.enabled else torch.float32
    policy: PreTrainedModel | PeftModel
    value_model: PreTrainedModel | PeftModel
    reference: PreTrainedModel | None
    if lora.enabled:
        policy_base = AutoModelForCausalLM.from_pretrained(policy_dir, dtype=base_dtype)
        policy = (
            lora_load(policy_base, checkpoint_policy)
            if checkpoint_policy
            else lora_apply(policy_base, lora, task="CAUSAL_LM")
        )
        value_base = load_scalar_model(value_init_dir, device=torch.device("cpu"), dtype=base_dtype)
        value_model = (
            lora_load(value_base, checkpoint_value)
            if checkpoint_value
            else lora_apply(value_base, lora, task="SEQ_CLS")
        )
        reference = None
    else:
        policy = AutoModelForCausalLM.from_pretrained(checkpoint_policy or policy_dir, dtype=torch.float32)
        value_model = load_scalar_model(checkpoint_value or value_init_dir, device=device, dtype=torch.float32)
        reference = AutoModelForCausalLM.from_pretrained(policy_dir, dtype=default_dtype(device))
        reference.to(device)  # type: ignore[arg-type]  # @wraps(Module.to) on PreTrainedModel.to confuses the binding of self
        reference.eval()  # type: ignore[no-untyped-call]  # transformers leaves eval() unannotated
        reference.requires_grad_(False)
    policy.to(device), value_model.to(device)  # type: ignore[arg-type]  # @wraps(Module.to) confuses the binding of self
    if config.gradient_checkpointing:
        for model in (policy, value_model):
            _dropout_off(model)
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
            if is_lora(model):
                model.enable_input_require_grads()
    # Dropout off everywhere: PPO ratios assume rollout and update see the same function (N+).
    policy.eval(), value_model.eval()
    return Actors(policy, value_model, reference, config.gradient_checkpointing)


def policy_save(
    actors: Actors, out_dir: Path, *, tokenizer: PreTrainedTokenizerBase, base_model_dir: Path, config: PPOConfig
) -> Path:
    """The final policy as a plain Hugging Face folder (LoRA merged in, lineage recorded) that sampling loads."""
    policy = lora_merged(actors.policy)
    if actors.gradient_checkpointing:
        policy.gradient_checkpointing_disable()  # type: ignore[no-untyped-call]  # unannotated in transformers
    policy.config.use_cache = True
    policy.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    if config.lora.enabled:
        lineage_write(out_dir, base_model_dir=base_model_dir, settings=config.lora)
    return out_dir

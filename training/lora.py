"""LoRA through peft for the reward model, the policy and the value model; merged back for saving.

Defaults follow common practice for instruction models (peft / TRL examples, Hu et al. 2021):
alpha = 2 r, every linear layer of the transformer blocks, no dropout in PPO (its ratios assume the
rollout and the update see one function).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeGuard, cast

if TYPE_CHECKING:  # torch and peft load only where adapters are used, so configs stay cheap to import
    import torch
    from peft import LoraConfig, PeftModel
    from transformers import PreTrainedModel

Task = Literal["CAUSAL_LM", "SEQ_CLS"]

LORA_DEFAULT_TARGETS = "all-linear"
"""peft's shortcut: every nn.Linear of the blocks, not the output layer (lm_head / score)."""
LINEAGE_FILENAME = "lora_lineage.json"


@dataclass(frozen=True)
class LoraSettings:
    r: int
    """Rank of the update matrices; 0 means full fine-tuning."""
    alpha: float | None = None
    """Scale numerator (update = alpha / r * B A); None means 2 r."""
    dropout: float = 0.0
    """Dropout on the adapter input in training mode."""
    target_modules: str = LORA_DEFAULT_TARGETS
    """Comma-separated module names (e.g. q_proj,v_proj) or all-linear."""

    def __post_init__(self) -> None:
        if self.r < 0:
            raise ValueError(f"lora_r must be >= 0 (0 = full fine-tuning), got {self.r}")
        if not 0 <= self.dropout < 1:
            raise ValueError("lora_dropout must be in [0, 1)")
        if self.alpha is not None and self.alpha <= 0:
            raise ValueError("lora_alpha must be > 0")
        if not self.target_modules.strip():
            raise ValueError("lora_target_modules must name modules or be all-linear")

    @property
    def enabled(self) -> bool:
        return self.r > 0

    def peft_config(self, *, task: Task) -> LoraConfig:
        from peft import LoraConfig, TaskType

        names = self.target_modules.strip()
        targets: str | list[str] = names if names == LORA_DEFAULT_TARGETS else [t.strip() for t in names.split(",")]
        return LoraConfig(
            r=self.r,
            # peft annotates int, but its scaling alpha / r takes a float alpha as well
            lora_alpha=self.alpha if self.alpha is not None else 2 * self.r,  # type: ignore[arg-type]
            lora_dropout=self.dropout,
            target_modules=targets,
            task_type=TaskType(task),  # SEQ_CLS also trains the (new) `score` head in full
        )


def lora_apply(model: PreTrainedModel, settings: LoraSettings, *, task: Task) -> PeftModel:
    """Wrap `model` with fresh adapters; the base weights are frozen in place."""
    from peft import get_peft_model

    return get_peft_model(model, settings.peft_config(task=task))


def lora_load(model: PreTrainedModel, adapter_dir: Path | str) -> PeftModel:
    """Attach saved, trainable adapters (a checkpoint) to a freshly loaded base."""
    from peft import PeftModel

    return PeftModel.from_pretrained(model, Path(adapter_dir), is_trainable=True)


def is_lora(model: torch.nn.Module) -> TypeGuard[PeftModel]:
    from peft import PeftModel

    return isinstance(model, PeftModel)


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The Hugging Face model inside a peft wrapper (adapters stay active: they are injected in place)."""
    return model.get_base_model() if is_lora(model) else model


def lora_merged(model: torch.nn.Module) -> PreTrainedModel:
    """A plain model with the adapters folded into the weights, loadable without peft."""
    if not is_lora(model):
        return cast("PreTrainedModel", model)  # callers pass Hugging Face models
    return cast("PreTrainedModel", model.merge_and_unload())  # peft forwards to the tuner; untyped


def lineage_write(out_dir: Path | str, *, base_model_dir: Path | str, settings: LoraSettings) -> Path:
    """Record that a merged folder came from `base_model_dir` + LoRA(settings)."""
    path = Path(out_dir) / LINEAGE_FILENAME
    record = {"base_model_dir": str(base_model_dir), "merged": True, **asdict(settings)}
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return path

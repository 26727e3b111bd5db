"""Resumable PPO checkpoints: policy, value model, optimiser, step and RNG, swapped in atomically."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from transformers import PreTrainedModel

if TYPE_CHECKING:
    from peft import PeftModel

CHECKPOINT_DIRNAME = "checkpoint"
STATE_FILENAME = "trainer_state.pt"


@dataclass
class Checkpoint:
    path: Path
    step: int
    """Number of PPO steps completed when it was written."""
    fingerprint: dict[str, Any]
    """What the run was started with (config, prompts hash, model folders); must match to resume."""
    optimizer_state: dict[str, Any]
    rng_state: dict[str, Any]

    @property
    def policy_dir(self) -> Path:
        return self.path / "policy"

    @property
    def value_dir(self) -> Path:
        return self.path / "value"


def _rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def rng_restore(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def checkpoint_save(
    *,
    out_dir: Path,
    step: int,
    fingerprint: dict[str, Any],
    policy: PreTrainedModel | PeftModel,
    value_model: PreTrainedModel | PeftModel,
    optimizer: torch.optim.Optimizer,
) -> Path:
    """Write `out_dir/checkpoint`; the previous one is replaced only once the new one is complete."""
    final = Path(out_dir) / CHECKPOINT_DIRNAME
    tmp, old = final.with_name(final.name + ".tmp"), final.with_name(final.name + ".old")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    policy.save_pretrained(str(tmp / "policy"))  # peft annotates str
    value_model.save_pretrained(str(tmp / "value"))
    torch.save(
        {"step": step, "fingerprint": fingerprint, "optimizer": optimizer.state_dict(), "rng": _rng_state()},
        tmp / STATE_FILENAME,
    )
    if final.exists():
        shutil.rmtree(old, ignore_errors=True)
        final.rename(old)
    tmp.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    return final


def checkpoint_load(out_dir: Path) -> Checkpoint | None:
    """The latest complete checkpoint in `out_dir`, or None when the run has none."""
    out_dir = Path(out_dir)
    # A crash between the two renames of checkpoint_save leaves only the `.old` copy.
    for name in (CHECKPOINT_DIRNAME, CHECKPOINT_DIRNAME + ".old"):
        path = out_dir / name
        if (path / STATE_FILENAME).is_file():
            state = torch.load(path / STATE_FILENAME, map_location="cpu", weights_only=True)
            return Checkpoint(path, state["step"], state["fingerprint"], state["optimizer"], state["rng"])
    return None

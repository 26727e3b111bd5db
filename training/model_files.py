"""What a model folder holds, read from its files alone: where named models live and how many parameters a
model has. No torch or transformers import, so a web request can estimate compute in milliseconds."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

from training.memory import ModelShape

CACHE_ENV = "ARBITER_MODEL_DIR"
SMOLLM2_NAME = "smollm2-135m"
TINY_ARCHS = ("llama", "gpt2")
TINY_NAMES = {"tiny": "llama", **{f"tiny-{arch}": arch for arch in TINY_ARCHS}}
"""Model names of the tiny test models → their architecture; `tiny` is the Llama one."""


def model_cache_dir(cache_dir: Path | None = None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir)
    return Path(os.environ.get(CACHE_ENV) or "data/models")


def named_model_folder(name: str, *, cache_dir: Path | None = None) -> Path | None:
    """The cache folder a model name (tiny, tiny-gpt2, smollm2-135m) resolves to, built or not; None for a
    name that is not one of those (a folder path)."""
    if name in TINY_NAMES:
        return model_cache_dir(cache_dir) / f"tiny-{TINY_NAMES[name]}"
    if name == SMOLLM2_NAME:
        return model_cache_dir(cache_dir) / SMOLLM2_NAME
    return None


def parameter_count(folder: Path) -> int:
    """Parameters of a model folder: exact from the safetensors file headers (no weights are read; tied
    embeddings count once, as stored), else from the shapes in config.json (Llama and GPT-2 layouts)."""
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        return ModelShape.from_config(config).parameters
    total = 0
    for path in files:
        with open(path, "rb") as fh:
            (length,) = struct.unpack("<Q", fh.read(8))
            header = json.loads(fh.read(length))
        for name, info in header.items():
            if name != "__metadata__":
                count = 1
                for dim in info["shape"]:
                    count *= dim
                total += count
    return total

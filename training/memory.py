"""Estimated accelerator memory of a training phase, from a model's shape alone (pure arithmetic).

Used before launch to refuse configs that cannot fit the memory a worker declares. The figures are
estimates in the usual accounting (Rajbhandari et al. 2020 for weights/optimiser state, Korthikanti
et al. 2022 for activations); bench/gpu_check.py prints measured peaks to compare against.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Mode = Literal["full", "lora"]
Precision = Literal["bf16", "fp32"]
Phase = Literal["reward", "ppo", "sample"]

GIB = 1024**3
RUNTIME_OVERHEAD_GIB = 1.5
"""CUDA context, kernels and allocator slack that no tensor accounts for."""
FRAGMENTATION = 1.10
"""Caching-allocator headroom on top of the live tensors."""

# Dimensions from the models' published config.json files (nothing is downloaded; bench/gpu_check.py
# builds randomly initialised models from them).
REFERENCE_CONFIGS: dict[str, dict[str, Any]] = {
    "smollm2-135m": dict(
        hidden_size=576,
        num_hidden_layers=30,
        vocab_size=49152,
        intermediate_size=1536,
        num_attention_heads=9,
        num_key_value_heads=3,
        tie_word_embeddings=True,
        max_position_embeddings=8192,
        rope_theta=100000.0,
    ),
    "llama-3.2-1b": dict(
        hidden_size=2048,
        num_hidden_layers=16,
        vocab_size=128256,
        intermediate_size=8192,
        num_attention_heads=32,
        num_key_value_heads=8,
        tie_word_embeddings=True,
        max_position_embeddings=131072,
        rope_theta=500000.0,
    ),
    "llama-3.1-8b": dict(
        hidden_size=4096,
        num_hidden_layers=32,
        vocab_size=128256,
        intermediate_size=14336,
        num_attention_heads=32,
        num_key_value_heads=8,
        tie_word_embeddings=False,
        max_position_embeddings=131072,
        rope_theta=500000.0,
    ),
}


@dataclass(frozen=True)
class ModelShape:
    """A decoder-only transformer's dimensions (Llama or GPT-2 layout)."""

    hidden_size: int
    layers: int
    vocab_size: int
    intermediate_size: int
    heads: int
    kv_heads: int
    tied_embeddings: bool = True
    gated_mlp: bool = True
    """Llama-style gate/up/down MLP (3 matrices) rather than GPT-2's two."""
    position_embeddings: int = 0
    """Learned position embeddings (GPT-2's n_positions); rotary models have none."""
    biases: bool = False
    """GPT-2: every linear layer and layer norm carries a bias."""

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ModelShape:
        """From a Hugging Face config.json dict (Llama, Mistral, Qwen, GPT-2 naming)."""
        if "n_embd" in config:  # GPT-2
            hidden = config["n_embd"]
            return cls(
                hidden_size=hidden,
                layers=config["n_layer"],
                vocab_size=config["vocab_size"],
                intermediate_size=config.get("n_inner") or 4 * hidden,
                heads=config["n_head"],
                kv_heads=config["n_head"],
                tied_embeddings=True,
                gated_mlp=False,
                position_embeddings=config.get("n_positions", 1024),
                biases=True,
            )
        heads = config["num_attention_heads"]
        return cls(
            hidden_size=config["hidden_size"],
            layers=config["num_hidden_layers"],
            vocab_size=config["vocab_size"],
            intermediate_size=config["intermediate_size"],
            heads=heads,
            kv_heads=config.get("num_key_value_heads") or heads,
            tied_embeddings=bool(config.get("tie_word_embeddings", False)),
        )

    @property
    def kv_size(self) -> int:
        return self.hidden_size // self.heads * self.kv_heads

    def linear_shapes(self) -> list[tuple[int, int]]:
        """(in, out) of every linear layer in one block."""
        h, kv, i = self.hidden_size, self.kv_size, self.intermediate_size
        attention = [(h, h), (h, kv), (h, kv), (h, h)]
        mlp = [(h, i), (h, i), (i, h)] if self.gated_mlp else [(h, i), (i, h)]
        return attention + mlp

    @property
    def parameters(self) -> int:
        """Weights of the causal LM: linear layers, norms and embeddings, with biases where the layout has them."""
        norm = self.hidden_size * (2 if self.biases else 1)
        linears = self.linear_shapes()
        block = sum(a * b for a, b in linears) + (sum(b for _, b in linears) if self.biases else 0) + 2 * norm
        embeddings = self.vocab_size * self.hidden_size * (1 if self.tied_embeddings else 2)
        return self.layers * block + embeddings + self.position_embeddings * self.hidden_size + norm

    def lora_parameters(self, r: int) -> int:
        """Adapter weights of LoRA rank r on every linear layer of the blocks (peft's all-linear)."""
        return self.layers * r * sum(a + b for a, b in self.linear_shapes())


@dataclass(frozen=True)
class MemoryEstimate:
    weights_gib: float
    trainable_state_gib: float
    """Gradients and AdamW moments (and fp32 master weights) of the trained parameters."""
    activations_gib: float
    generation_cache_gib: float
    overhead_gib: float
    total_gib: float

    def to_dict(self) -> dict[str, float]:
        return {k: round(v, 2) for k, v in asdict(self).items()}


def memory_estimate(
    shape: ModelShape,
    *,
    phase: Phase,
    mode: Mode = "full",
    precision: Precision = "bf16",
    lora_r: int = 8,
    batch_size: int = 8,
    sequence_tokens: int = 512,
    new_tokens: int = 64,
    gradient_checkpointing: bool = False,
) -> MemoryEstimate:
    """Peak accelerator memory of one process for `phase` on `shape`.

    reward: one trained sequence classifier, pairs (2 x batch_size sequences).
    ppo: trained policy and value model, a frozen reference (none with LoRA: adapters switched off)
    and a frozen reward model; generation of `new_tokens` after prompts of `sequence_tokens - new_tokens`.
    sample: one frozen policy generating.
    Trained weights are fp32 with bf16 autocast (as the trainers run); frozen ones take `precision`.
    """
    if mode not in ("full", "lora") or precision not in ("bf16", "fp32") or phase not in ("reward", "ppo", "sample"):
        raise ValueError(f"unknown phase/mode/precision {phase!r}/{mode!r}/{precision!r}")
    if min(batch_size, sequence_tokens) < 1 or new_tokens < 0 or (mode == "lora" and lora_r < 1):
        raise ValueError("batch_size, sequence_tokens (and lora_r with LoRA) must be >= 1")
    frozen_bytes = 2 if precision == "bf16" else 4
    params = shape.parameters
    trained_models = {"reward": 1, "ppo": 2, "sample": 0}[phase]
    if mode == "full":
        trained_weights = trained_models * 4 * params
        trained_state = trained_models * 12 * params  # fp32 gradient + two AdamW moments
        frozen = {"reward": 0, "ppo": 2, "sample": 1}[phase] * frozen_bytes * params
    else:
        adapters = shape.lora_parameters(lora_r)
        trained_weights = trained_models * (frozen_bytes * params + 4 * adapters)
        trained_state = trained_models * 12 * adapters
        frozen = {"reward": 0, "ppo": 1, "sample": 1}[phase] * frozen_bytes * params  # reference = base

    sequences = 2 * batch_size if phase == "reward" else batch_size
    tokens = sequences * sequence_tokens
    h, layers = shape.hidden_size, shape.layers
    activations = 0
    if trained_models:
        # Korthikanti et al. 2022: ~34 s b h bytes per block in 16-bit with fused attention; checkpointing
        # keeps each block's input (2 s b h) plus one block being recomputed.
        per_block = 34 * tokens * h
        activations = layers * 2 * tokens * h + per_block if gradient_checkpointing else layers * per_block
        logits_tokens = tokens if phase == "reward" else sequences * max(new_tokens, 1)
        # fp32 logits, their log-softmax and its gradient; PPO needs only response positions.
        activations += 3 * 4 * logits_tokens * (1 if phase == "reward" else shape.vocab_size)
    cache = 0
    if phase in ("ppo", "sample"):
        cache = 2 * layers * shape.kv_size * sequences * sequence_tokens * frozen_bytes  # keys + values
        cache += 4 * sequences * shape.vocab_size  # one step's fp32 logits
    weights = trained_weights + frozen
    live = weights + trained_state + activations + cache
    total = live * FRAGMENTATION / GIB + RUNTIME_OVERHEAD_GIB
    return MemoryEstimate(
        weights_gib=weights / GIB,
        trainable_state_gib=trained_state / GIB,
        activations_gib=activations / GIB,
        generation_cache_gib=cache / GIB,
        overhead_gib=total - live / GIB,
        total_gib=total,
    )


def memory_refusal(estimate: MemoryEstimate, available_gib: float | None, *, what: str) -> str | None:
    """A clear refusal when `estimate` exceeds the declared accelerator memory; None when it fits or is unknown."""
    if available_gib is None or estimate.total_gib <= available_gib:
        return None
    return (
        f"{what} needs about {estimate.total_gib:.1f} GiB of accelerator memory "
        f"(weights {estimate.weights_gib:.1f}, optimiser state {estimate.trainable_state_gib:.1f}, "
        f"activations {estimate.activations_gib:.1f}, generation cache {estimate.generation_cache_gib:.1f}) "
        f"but the worker declares {available_gib:g} GiB; use LoRA (lora_r), gradient checkpointing, "
        "a smaller batch or more processes"
    )

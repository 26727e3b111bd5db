"""The accelerator-memory estimate: parameter counts from shapes, and which configs fit which GPU."""

import pytest

from training.memory import REFERENCE_CONFIGS, ModelShape, memory_estimate, memory_refusal

SHAPES = {name: ModelShape.from_config(config) for name, config in REFERENCE_CONFIGS.items()}


@pytest.mark.parametrize(
    ("name", "published"),
    [("smollm2-135m", 134_515_008), ("llama-3.2-1b", 1_235_814_400), ("llama-3.1-8b", 8_030_261_248)],
)
def test_parameter_counts_match_the_published_models(name, published):
    assert SHAPES[name].parameters == published


def test_gpt2_config_is_read_too():
    gpt2 = ModelShape.from_config({"n_embd": 768, "n_layer": 12, "n_head": 12, "vocab_size": 50257})
    assert gpt2.parameters == 124_439_808  # GPT-2 small: position embeddings and biases included


def test_lora_and_checkpointing_cut_memory_and_8b_lora_ppo_fits_one_141gb_gpu():
    shape = SHAPES["llama-3.1-8b"]
    common = dict(phase="ppo", batch_size=8, sequence_tokens=512, new_tokens=64)
    full = memory_estimate(shape, mode="full", **common)
    lora = memory_estimate(shape, mode="lora", lora_r=16, **common)
    lora_ckpt = memory_estimate(shape, mode="lora", lora_r=16, gradient_checkpointing=True, **common)
    assert full.total_gib > 141 > lora.total_gib > lora_ckpt.total_gib
    # Three bf16 copies of the base (policy, value model, reward model): 3 x 16 GB.
    assert 44 < lora.weights_gib < 46
    assert memory_refusal(lora, 141, what="8B LoRA PPO") is None
    message = memory_refusal(full, 141, what="8B full PPO")
    assert message is not None and "141 GiB" in message and "lora_r" in message
    assert memory_refusal(full, None, what="unknown GPU") is None


def test_estimate_grows_with_batch_and_length_and_reward_training_is_smaller_than_ppo():
    shape = SHAPES["llama-3.2-1b"]
    small = memory_estimate(shape, phase="reward", batch_size=4, sequence_tokens=256)
    assert memory_estimate(shape, phase="reward", batch_size=8, sequence_tokens=256).total_gib > small.total_gib
    assert memory_estimate(shape, phase="reward", batch_size=4, sequence_tokens=512).total_gib > small.total_gib
    assert memory_estimate(shape, phase="ppo", batch_size=4, sequence_tokens=256).total_gib > small.total_gib
    sample = memory_estimate(shape, phase="sample")
    assert sample.trainable_state_gib == 0 and sample.activations_gib == 0
    assert (
        memory_estimate(shape, phase="ppo", precision="fp32").weights_gib
        > memory_estimate(shape, phase="ppo").weights_gib
    )
    with pytest.raises(ValueError):
        memory_estimate(shape, phase="dpo")  # type: ignore[arg-type]

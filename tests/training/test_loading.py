import time

import pytest
import torch
from safetensors.torch import load_file

from training.loading import build_tiny_model, default_dtype, load_policy, load_tokenizer, resolve_model


def test_tiny_model_builds_fast_with_distinct_pad_and_eos(tmp_path):
    build_tiny_model(tmp_path / "warm")  # tokenizer training is cached per process
    started = time.perf_counter()
    folder = build_tiny_model(tmp_path / "tiny")
    assert time.perf_counter() - started < 5.0  # ~0.1 s idle; loose so a busy CI machine cannot flake it
    tokenizer = load_tokenizer(folder)
    assert tokenizer.pad_token_id is not None and tokenizer.eos_token_id is not None
    assert tokenizer.pad_token_id != tokenizer.eos_token_id
    assert tokenizer.padding_side == "left"
    model, _ = load_policy(folder, device="cpu")
    assert model.config.num_hidden_layers == 2
    assert model.config.pad_token_id == tokenizer.pad_token_id


def test_tiny_model_is_deterministic_in_seed(tmp_path):
    a = load_file(build_tiny_model(tmp_path / "a", seed=1) / "model.safetensors")
    b = load_file(build_tiny_model(tmp_path / "b", seed=1) / "model.safetensors")
    c = load_file(build_tiny_model(tmp_path / "c", seed=2) / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_gpt2_variant_and_chat_template(tmp_path):
    folder = build_tiny_model(tmp_path / "gpt2", arch="gpt2")
    model, tokenizer = load_policy(folder, device="cpu")
    assert model.config.model_type == "gpt2"
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True
    )
    assert text == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"


def test_unknown_arch_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="unknown tiny architecture"):
        build_tiny_model(tmp_path / "x", arch="mamba")


def test_resolve_model_names_and_folders(tmp_path):
    folder = resolve_model("tiny", cache_dir=tmp_path)
    assert folder == tmp_path / "tiny-llama" and (folder / "config.json").is_file()
    assert resolve_model(str(folder)) == folder
    with pytest.raises(FileNotFoundError, match="neither a known name"):
        resolve_model(str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"no config\.json"):
        resolve_model(str(tmp_path / "empty"))


def test_default_dtype():
    assert default_dtype(torch.device("cpu")) == torch.float32
    assert default_dtype("cuda") == torch.bfloat16


@pytest.mark.slow
def test_smollm2_conversion(tmp_path):
    from training.loading import convert_smollm2

    folder = convert_smollm2(tmp_path / "smollm2")
    tokenizer = load_tokenizer(folder)
    assert tokenizer.pad_token == "<|endoftext|>" and tokenizer.eos_token == "<|im_end|>"
    model, _ = load_policy(folder, device="cpu")
    assert model.config.num_hidden_layers == 30
    assert not hasattr(model.config, "quantization_config")
    ids = tokenizer("The capital of France is", return_tensors="pt")
    out = model.generate(**ids, max_new_tokens=3, do_sample=False)
    assert "Paris" in tokenizer.decode(out[0])


def test_reward_model_info_reads_the_folder_metadata_once_for_every_reader(tmp_path):
    import json

    from training.loading import REWARD_CONFIG_FILE, reward_model_info

    assert reward_model_info(tmp_path) is None  # not written by reward training
    saved = {"config": {"instruction_template": "T {text}", "max_length": 96}, "reward_bias": -0.5, "data_hash": "h"}
    (tmp_path / REWARD_CONFIG_FILE).write_text(json.dumps(saved))
    info = reward_model_info(tmp_path)
    assert (info.instruction_template, info.max_length) == ("T {text}", 96)
    assert info.saved == saved

import pytest
import torch

from training.loading import load_policy, load_tokenizer
from training.sampling import SamplingConfig, format_prompt, generate_samples, generate_with_policy

PROMPTS = ["The fox", "A lion was awakened from sleep by a mouse running over his face."]


def _sample(model_dir, **overrides):
    config = SamplingConfig(**{"max_new_tokens": 12, "batch_size": 3, "samples_per_prompt": 2, **overrides})
    return generate_samples(model_dir=model_dir, prompts=PROMPTS, config=config, device="cpu")


def test_sampling_is_seeded_and_ordered(tiny_model_dir):
    first, again = _sample(tiny_model_dir), _sample(tiny_model_dir)
    assert [s.text for s in first] == [s.text for s in again]
    assert [(s.prompt_index, s.sample_index) for s in first] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    other = _sample(tiny_model_dir, seed=1)
    assert [s.text for s in other] != [s.text for s in first]
    assert first[0].params["model_version"] and first[0].params["temperature"] == 0.7


def test_left_padding_does_not_change_greedy_output(tiny_model_dir):
    # The short prompt is left-padded next to the long one; alone it needs no padding.
    batched = _sample(tiny_model_dir, temperature=0.0, samples_per_prompt=1, batch_size=2)
    alone = generate_samples(
        model_dir=tiny_model_dir,
        prompts=PROMPTS[:1],
        config=SamplingConfig(temperature=0.0, max_new_tokens=12),
        device="cpu",
    )
    assert batched[0].text == alone[0].text
    tokenizer = load_tokenizer(tiny_model_dir)
    enc = tokenizer([format_prompt(tokenizer, p, "{text}") for p in PROMPTS], padding=True, add_special_tokens=False)
    assert enc["input_ids"][0][0] == tokenizer.pad_token_id and enc["attention_mask"][0][0] == 0


def test_max_new_tokens_and_eos(tiny_model_dir):
    samples = _sample(tiny_model_dir, max_new_tokens=5)
    assert all(s.num_tokens == 5 or s.finished_with_eos for s in samples)
    assert all(s.num_tokens <= 5 for s in samples)

    # A policy whose only likely token is EOS: generation must stop right there and report it.
    model, tokenizer = load_policy(tiny_model_dir, device="cpu")
    head = torch.nn.Linear(model.config.hidden_size, model.config.vocab_size, bias=True)
    with torch.no_grad():
        head.weight.zero_()
        head.bias.fill_(-1e4)
        head.bias[tokenizer.eos_token_id] = 1e4
    model.lm_head = head
    config = SamplingConfig(max_new_tokens=8, batch_size=3, samples_per_prompt=2)
    eos_samples = generate_with_policy(model=model, tokenizer=tokenizer, prompts=PROMPTS, config=config)
    assert len(eos_samples) == 4
    assert all(s.finished_with_eos and s.num_tokens == 1 and s.text == "" for s in eos_samples)


def test_config_validation():
    with pytest.raises(ValueError, match="placeholder"):
        SamplingConfig(instruction_template="no placeholder")
    with pytest.raises(ValueError, match="top_p"):
        SamplingConfig(top_p=0)


def test_format_prompt_uses_chat_template(tiny_model_dir):
    tokenizer = load_tokenizer(tiny_model_dir)
    text = format_prompt(tokenizer, "fox", "Summarise: {text}")
    assert text == "<|im_start|>user\nSummarise: fox<|im_end|>\n<|im_start|>assistant\n"


@pytest.mark.parametrize("argv", [["--help"], ["sample", "--help"], ["convert-smollm2", "--help"]])
def test_cli_help_renders(argv, capsys):
    from training.__main__ import main

    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 0
    assert "usage: python -m training" in capsys.readouterr().out


def test_sample_cli_writes_jsonl(tiny_model_dir, tmp_path):
    import json

    from training.__main__ import main

    (tmp_path / "p.jsonl").write_text('{"text": "The fox"}\n"A lion"\n')
    code = main(
        [
            "sample",
            "--model",
            str(tiny_model_dir),
            "--prompts",
            str(tmp_path / "p.jsonl"),
            "--out",
            str(tmp_path / "s.jsonl"),
            "--max-new-tokens",
            "4",
            "--samples-per-prompt",
            "2",
        ]
    )
    rows = [json.loads(line) for line in (tmp_path / "s.jsonl").read_text().splitlines()]
    assert code == 0 and len(rows) == 4
    assert rows[2]["prompt"] == "A lion" and rows[0]["params"]["max_new_tokens"] == 4
    (tmp_path / "bad.jsonl").write_text('{"title": "no text"}\n')
    assert (
        main(
            [
                "sample",
                "--model",
                str(tiny_model_dir),
                "--prompts",
                str(tmp_path / "bad.jsonl"),
                "--out",
                str(tmp_path / "x.jsonl"),
            ]
        )
        == 2
    )

import json
import math
from dataclasses import replace

import numpy as np
import pytest

from training.__main__ import main
from training.best_of_n import (
    best_of_n_analytic_kl,
    best_of_n_choose,
    best_of_n_generate,
    best_of_n_measured_kl,
)
from training.sampling import SamplingConfig, generate_samples

PROMPTS = ["the fox and the crow", "a lion spared a mouse", "the ant worked all summer"]
SAMPLING = SamplingConfig(temperature=1.0, max_new_tokens=12, batch_size=8, seed=3, instruction_template="{text}")


def vowel_count(prompts: list[str], responses: list[str]) -> list[float]:
    """A synthetic reward: how many vowels the response holds."""
    return [float(sum(ch in "aeiou" for ch in r)) for r in responses]


def test_analytic_kl_hand_values():
    assert best_of_n_analytic_kl(1) == 0.0
    assert best_of_n_analytic_kl(2) == pytest.approx(math.log(2) - 0.5)
    assert best_of_n_analytic_kl(4) == pytest.approx(math.log(4) - 0.75)
    with pytest.raises(ValueError):
        best_of_n_analytic_kl(0)


def test_kept_response_is_the_argmax_of_the_synthetic_reward(tiny_model_dir):
    n = 5
    result = best_of_n_generate(policy_dir=tiny_model_dir, prompts=PROMPTS, n=n, scorer=vowel_count, sampling=SAMPLING)
    # The same seeded sampling, drawn directly, gives the candidates best-of-n chose from.
    candidates = generate_samples(
        model_dir=tiny_model_dir, prompts=PROMPTS, config=SamplingConfig(**{**vars(SAMPLING), "samples_per_prompt": n})
    )
    assert [c.prompt_index for c in result.choices] == [0, 1, 2]
    for choice in result.choices:
        texts = [s.text for s in candidates if s.prompt_index == choice.prompt_index]
        rewards = vowel_count([], texts)
        assert choice.candidate_rewards == rewards
        assert choice.reward == max(rewards)
        assert choice.text == texts[int(np.argmax(rewards))]
        assert choice.n == n and choice.prompt == PROMPTS[choice.prompt_index]
    # Sampling at temperature 1 from a random tiny model varies, so choosing is not a no-op.
    assert any(len(set(c.candidate_rewards)) > 1 for c in result.choices)
    assert result.analytic_kl == pytest.approx(math.log(5) - 0.8)
    assert result.measured_kl is None


def test_choose_takes_the_first_of_equal_rewards_and_checks_lengths(tiny_model_dir):
    samples = generate_samples(
        model_dir=tiny_model_dir,
        prompts=PROMPTS[:1],
        config=SamplingConfig(**{**vars(SAMPLING), "samples_per_prompt": 3}),
    )
    assert best_of_n_choose(samples, [1.0, 2.0, 2.0])[0].sample_index == 1
    with pytest.raises(ValueError, match="3 samples but 2 rewards"):
        best_of_n_choose(samples, [1.0, 2.0])


def test_measured_kl_approaches_the_analytic_value_for_continuous_rewards():
    rng = np.random.default_rng(0)
    n, prompts, m = 4, 4000, 400
    chosen = rng.random((prompts, n)).max(axis=1)
    references = rng.random((prompts, m))
    estimate = best_of_n_measured_kl(chosen.tolist(), references.tolist(), n)
    assert estimate == pytest.approx(best_of_n_analytic_kl(n), abs=0.03)


def test_measured_kl_is_zero_when_every_sample_is_the_same_response():
    # A policy that always says the same thing: best-of-n changes nothing, though the analytic value is log n - ...
    assert best_of_n_measured_kl([1.0, 1.0], [[1.0] * 10, [1.0] * 10], 8) == pytest.approx(0.0)
    assert best_of_n_measured_kl([0.3], [[0.1, 0.2]], 1) == pytest.approx(0.0)


def test_measured_kl_from_reference_samples_of_the_tiny_model(tiny_model_dir):
    result = best_of_n_generate(
        policy_dir=tiny_model_dir, prompts=PROMPTS, n=4, scorer=vowel_count, sampling=SAMPLING, kl_reference_samples=8
    )
    assert result.measured_kl is not None
    assert 0.0 <= result.measured_kl <= math.log(4) + 1e-9


@pytest.fixture(scope="module")
def tiny_reward_model(tiny_model_dir, tmp_path_factory):
    from rewards.config import RewardConfig
    from rewards.data import PreferenceExample
    from rewards.train import reward_model_train

    pairs = [PreferenceExample(p, "a fine answer", "no") for p in PROMPTS] * 4
    out = tmp_path_factory.mktemp("bon-rm") / "model"
    reward_model_train(
        config=RewardConfig(max_length=48, batch_size=4, num_epochs=1, instruction_template="{text}"),
        train=pairs,
        eval=pairs[:3],
        base_model_dir=tiny_model_dir,
        out_dir=out,
    )
    return out


def test_cli_writes_the_kept_samples(tiny_model_dir, tiny_reward_model, tmp_path, capsys):
    from rewards.scoring import reward_model_score

    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"text": p}) + "\n" for p in PROMPTS), encoding="utf-8")
    out = tmp_path / "bon.jsonl"
    argv = ["best-of-n", "--policy", str(tiny_model_dir), "--reward-model", str(tiny_reward_model)]
    argv += ["--prompts", str(prompts), "--out", str(out), "--n", "3", "--max-new-tokens", "8"]
    argv += ["--instruction-template", "{text}", "--temperature", "1.0", "--kl-reference-samples", "4"]
    assert main(argv) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["prompt"] for r in rows] == PROMPTS
    rescored = reward_model_score(
        model_dir=tiny_reward_model, prompts=[r["prompt"] for r in rows], responses=[r["text"] for r in rows]
    )
    for row, score in zip(rows, rescored, strict=True):
        assert row["n"] == 3 and len(row["candidate_rewards"]) == 3
        assert row["reward"] == max(row["candidate_rewards"])
        assert row["reward"] == pytest.approx(score, abs=1e-4)
    err = capsys.readouterr().err
    assert f"KL analytic {math.log(3) - 2 / 3:.3f} nats, measured " in err


def test_sample_of_the_best_of_n_policy_draws_independently_and_keeps_each_draws_best(
    tiny_model_dir, tiny_reward_model, tmp_path
):
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"text": p}) + "\n" for p in PROMPTS), encoding="utf-8")
    out = tmp_path / "samples.jsonl"
    argv = ["sample", "--model", str(tiny_model_dir), "--best-of-n", "3", "--ranking-model", str(tiny_reward_model)]
    argv += ["--prompts", str(prompts), "--out", str(out), "--samples-per-prompt", "2", "--max-new-tokens", "8"]
    argv += ["--instruction-template", "{text}", "--temperature", "1.0"]
    assert main(argv) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    # The plain sampler's row layout, two draws per prompt.
    assert sorted((r["prompt_index"], r["sample_index"]) for r in rows) == [
        (i, d) for i in range(len(PROMPTS)) for d in (0, 1)
    ]
    assert all(r["params"]["best_of_n"] == 3 for r in rows)
    assert [r["params"]["analytic_kl"] for r in rows] == pytest.approx([math.log(3) - 2 / 3] * len(rows))
    # Each kept response is the best of its own 3 candidates (drawn with the draw's seed range).
    from training.best_of_n import reward_model_scorer

    config = SamplingConfig(max_new_tokens=8, instruction_template="{text}", temperature=1.0)
    second = best_of_n_generate(
        policy_dir=tiny_model_dir, prompts=PROMPTS, n=3, scorer=reward_model_scorer(tiny_reward_model),
        sampling=replace(config, seed=config.seed + len(PROMPTS) * 3 + 1),
    )  # fmt: skip
    drawn = {r["prompt_index"]: r for r in rows if r["sample_index"] == 1}
    for choice in second.choices:
        assert drawn[choice.prompt_index]["text"] == choice.text
        assert drawn[choice.prompt_index]["params"]["reward"] == pytest.approx(max(choice.candidate_rewards))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--best-of-n", "3"], "go together"),
        (["--ranking-model", "rm"], "go together"),
        (["--best-of-n", "-1", "--ranking-model", "rm"], "0 \\(no best-of-n\\) or more"),
    ],
)
def test_sample_refuses_a_best_of_n_without_its_ranking_model(tiny_model_dir, tmp_path, extra, message):
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(json.dumps({"text": "x"}) + "\n", encoding="utf-8")
    argv = ["sample", "--model", str(tiny_model_dir), "--prompts", str(prompts), "--out", str(tmp_path / "o.jsonl")]
    with pytest.raises(SystemExit, match=message):
        main(argv + extra)
    assert not (tmp_path / "o.jsonl").exists()


def test_evaluate_of_the_best_of_n_policy_scores_each_kept_response_and_reports_its_kl(
    tiny_model_dir, tiny_reward_model, tmp_path
):
    from rewards.scoring import reward_model_score

    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"text": p}) + "\n" for p in PROMPTS), encoding="utf-8")
    out, summary = tmp_path / "rows.json", tmp_path / "summary.json"
    argv = ["evaluate", "--policy", str(tiny_model_dir), "--best-of-n", "3", "--ranking-model", str(tiny_reward_model)]
    argv += ["--reward-model", str(tiny_reward_model), "--prompts", str(prompts), "--out", str(out)]
    argv += ["--summary", str(summary), "--max-new-tokens", "8", "--instruction-template", "{text}"]
    argv += ["--missing-eos-penalty", "0.5"]
    assert main(argv) == 0
    rows = json.loads(out.read_text(encoding="utf-8"))
    assert [r["prompt"] for r in rows] == PROMPTS and all(r["kl"] == [] for r in rows)
    rescored = reward_model_score(
        model_dir=tiny_reward_model, prompts=[r["prompt"] for r in rows], responses=[r["text"] for r in rows]
    )
    for row, score in zip(rows, rescored, strict=True):
        assert row["score_raw"] == pytest.approx(score, abs=1e-4)
        assert row["score"] == pytest.approx(score - (0.0 if row["has_eos"] else 0.5), abs=1e-4)
    figures = json.loads(summary.read_text(encoding="utf-8"))
    assert figures["best_of_n"] == 3 and figures["kl_analytic"] == pytest.approx(math.log(3) - 2 / 3)
    assert figures["kl_measured"] is not None and figures["kl"] is None
    assert figures["score"] == pytest.approx(sum(r["score"] for r in rows) / len(rows))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--best-of-n", "3"], "go together"),
        (["--best-of-n", "3", "--ranking-model", "RM", "--reference", "tiny"], "per-token KL"),
    ],
)
def test_evaluate_refuses_a_best_of_n_without_its_ranking_model_or_with_references(
    tiny_model_dir, tiny_reward_model, tmp_path, extra, message
):
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(json.dumps({"text": "x"}) + "\n", encoding="utf-8")
    argv = ["evaluate", "--policy", str(tiny_model_dir), "--reward-model", str(tiny_reward_model)]
    argv += ["--prompts", str(prompts), "--out", str(tmp_path / "rows.json")]
    extra = [str(tiny_reward_model) if arg == "RM" else arg for arg in extra]
    with pytest.raises(SystemExit, match=message):
        main(argv + extra)
    assert not (tmp_path / "rows.json").exists()

"""The one policy evaluation (training.ppo.evaluate): per-response rows, their summary, several references."""

import pytest

from tests.training.ppo_fixtures import (  # noqa: F401  (fixtures)
    PROMPTS,
    e_frequency_score,
    tiny_policy_dir,
    tiny_reward_model_dir,
)
from training.loading import build_tiny_model
from training.ppo.evaluate import evaluation_summary, policy_evaluate, responses_evaluate

COMMON = dict(prompts=PROMPTS[:5], max_new_tokens=6, batch_size=2, instruction_template="{text}", device="cpu")


def test_rows_carry_text_scores_and_kl_to_each_reference(tiny_policy_dir, tmp_path):
    other = build_tiny_model(tmp_path / "other", seed=123)
    calls = []
    rows = responses_evaluate(
        policy_dir=tiny_policy_dir, reference_dirs=[tiny_policy_dir, other], scorer=e_frequency_score,
        missing_eos_penalty=2.0, progress=lambda f, m: calls.append(f), **COMMON,
    )  # fmt: skip
    assert [r.prompt for r in rows] == PROMPTS[:5]
    for r in rows:
        assert r.score_raw == pytest.approx(e_frequency_score([r.prompt], [r.text])[0], abs=1e-6)
        assert r.score == pytest.approx(r.score_raw - (0.0 if r.has_eos else 2.0), abs=1e-6)
        assert 1 <= r.num_tokens <= 6
        assert r.kl[0] == pytest.approx(0.0, abs=1e-5)  # against itself
    assert sum(abs(r.kl[1]) for r in rows) > 0.1  # a different model
    assert calls[0] == 0.0 and calls[-1] == 1.0 and len(calls) == 4  # before each of 3 batches, then done

    summary = evaluation_summary(rows)
    assert summary["n"] == 5 and summary["kl"] == pytest.approx(0.0, abs=1e-5)
    assert summary["score"] == pytest.approx(sum(r.score for r in rows) / 5)
    assert evaluation_summary(rows, reference=1)["kl"] == pytest.approx(sum(r.kl[1] for r in rows) / 5)
    assert summary["eos_rate"] == sum(r.has_eos for r in rows) / 5
    # The summary of policy_evaluate is the summary of these rows (same seed, same samples).
    report = policy_evaluate(
        policy_dir=tiny_policy_dir, reference_dir=tiny_policy_dir, scorer=e_frequency_score, missing_eos_penalty=2.0,
        **COMMON,
    )  # fmt: skip
    assert report == summary


def test_without_references_there_is_no_kl(tiny_policy_dir):
    rows = responses_evaluate(policy_dir=tiny_policy_dir, reference_dirs=[], scorer=e_frequency_score, **COMMON)
    assert all(r.kl == () for r in rows) and evaluation_summary(rows)["kl"] is None
    with pytest.raises(ValueError, match="no evaluated responses"):
        evaluation_summary([])

"""The experiment's oracles: ROUGE-L as rouge-score computes it, the length term, the spec parser."""

from __future__ import annotations

import math

import pytest

from rounds.experiment.oracle import (
    OracleError,
    RewardModelOracle,
    RougeOracle,
    lcs_length,
    oracle_preference,
    oracle_spec_check,
    rouge_l_f,
    rouge_oracle_score,
)


def test_rouge_l_matches_rouge_scores_worked_example():
    # rouge-score's README: target "The quick brown fox jumps over the lazy dog", prediction "The quick brown dog
    # jumps on the log." gives rougeL precision 0.625, recall 0.5556, F 0.5882 (LCS "the quick brown jumps the").
    target = "The quick brown fox jumps over the lazy dog"
    prediction = "The quick brown dog jumps on the log."
    assert lcs_length(["the", "quick", "brown", "dog", "jumps", "on", "the", "log"], target.lower().split()) == 5
    assert rouge_l_f(prediction, target) == pytest.approx(2 * (5 / 8) * (5 / 9) / (5 / 8 + 5 / 9))
    assert rouge_l_f(prediction, target) == pytest.approx(0.5882352941, abs=1e-9)


def test_rouge_l_edge_cases():
    assert rouge_l_f("", "a moral") == 0.0
    assert rouge_l_f("nothing shared", "a moral") == 0.0
    assert rouge_l_f("Slow and steady wins the race!", "slow and steady wins the race") == 1.0


def test_the_length_term_prefers_the_reference_length_at_equal_overlap():
    reference = "slow and steady wins the race"
    exact = rouge_oracle_score(reference, reference)
    assert exact == 1.0
    padded = rouge_oracle_score(reference + " " + "indeed " * 6, reference)
    assert padded < exact
    # The penalty is the weight times |log length ratio|, on top of ROUGE-L's own precision loss.
    expected = rouge_l_f(reference + " indeed" * 6, reference) - 0.05 * abs(math.log(13 / 7))
    assert padded == pytest.approx(expected)


def test_rouge_oracle_needs_a_reference_for_every_prompt():
    oracle = RougeOracle(references={"p1": "be kind"})
    assert oracle.score(["p1", "p1"], ["be kind", "be mean"])[0] > oracle.score(["p1"], ["be mean"])[0]
    with pytest.raises(OracleError, match="human reference"):
        oracle.score(["p2"], ["anything"])
    assert oracle_preference(oracle)("p1", "be kind", "be mean") > 0


def test_reward_model_oracle_caches_scores():
    calls: list[int] = []

    def scorer(prompts, responses):
        calls.append(len(prompts))
        return [float(len(r)) for r in responses]

    oracle = RewardModelOracle(folder=None, scorer=scorer)  # type: ignore[arg-type]
    assert oracle.score(["p", "p"], ["a", "bbb"]) == [1.0, 3.0]
    assert oracle.score(["p", "p"], ["bbb", "cc"]) == [3.0, 2.0]
    assert calls == [2, 1]  # only the new text was scored


def test_oracle_specs(tmp_path):
    assert oracle_spec_check("rouge") == ("rouge", None)
    (tmp_path / "config.json").write_text("{}")
    assert oracle_spec_check(f"rm:{tmp_path}") == ("rm", tmp_path)
    for bad in ("bleu", "rm:", f"rm:{tmp_path / 'missing'}"):
        with pytest.raises(OracleError):
            oracle_spec_check(bad)

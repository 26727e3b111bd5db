"""Rollout pieces on the tiny model: prompt encoding, sampling log-probs, reward-model scoring layout."""

import json

import pytest
import torch
from transformers import AutoModelForCausalLM

from tests.training.ppo_fixtures import PROMPTS, tiny_policy_dir, tiny_reward_model_dir  # noqa: F401
from training.loading import load_tokenizer
from training.ppo.math import logprobs_from_logits
from training.ppo.rollout import (
    Batch,
    RewardModelScorer,
    prompts_encode,
    response_logprobs,
    responses_generate,
)
from training.sampling import format_prompt

TEMPLATE = "Summarise: {text}"


def test_prompts_encode_left_pads_and_cuts_long_texts_inside_the_template(tiny_policy_dir):
    tokenizer = load_tokenizer(tiny_policy_dir)
    texts = ["short", "a much longer prompt " * 20]
    full = [tokenizer(format_prompt(tokenizer, t, TEMPLATE), add_special_tokens=False)["input_ids"] for t in texts]
    ids, mask, truncated = prompts_encode(tokenizer, texts, template=TEMPLATE, max_tokens=40, device="cpu")
    width = ids.shape[1]
    assert truncated == 1 and width <= 40 and mask[1].sum() == width
    # One layout whatever the length: the long prompt keeps the user header and the assistant header.
    head, tail = format_prompt(tokenizer, "\x00", TEMPLATE).split("\x00")
    decoded = tokenizer.decode(ids[1])
    assert decoded.startswith(head) and decoded.endswith(tail)
    assert mask[0].sum() == len(full[0]) and ids[0, -len(full[0]) :].tolist() == full[0]
    assert (ids[0, : width - len(full[0])] == tokenizer.pad_token_id).all()


def test_rollout_logprobs_match_the_sampling_distribution(tiny_policy_dir):
    """Log-probs recomputed with logits / temperature equal those generate() sampled from."""
    tokenizer = load_tokenizer(tiny_policy_dir)
    policy = AutoModelForCausalLM.from_pretrained(tiny_policy_dir).eval()
    ids, mask, _ = prompts_encode(tokenizer, PROMPTS[:4] + ["x"], template=TEMPLATE, max_tokens=64, device="cpu")
    torch.manual_seed(3)
    out = policy.generate(
        input_ids=ids,
        attention_mask=mask,
        do_sample=True,
        temperature=0.7,
        top_k=0,
        top_p=1.0,
        max_new_tokens=6,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        output_scores=True,
        return_dict_in_generate=True,
    )
    responses = out.sequences[:, ids.shape[1] :]  # (B, R)
    sampled = logprobs_from_logits(torch.stack(out.scores, 1), responses)  # processed scores = logits / T
    batch = Batch(
        PROMPTS[:5],
        ids,
        mask,
        responses,
        torch.ones_like(responses, dtype=torch.bool),
        torch.zeros(5, dtype=torch.bool),
        [""] * 5,
    )
    with torch.no_grad():
        recomputed, entropy = response_logprobs(policy, batch, temperature=0.7)
    torch.testing.assert_close(recomputed, sampled, rtol=1e-4, atol=1e-4)
    assert (entropy > 0).all()


def test_responses_generate_truncates_after_first_eos(tiny_policy_dir):
    tokenizer = load_tokenizer(tiny_policy_dir)
    policy = AutoModelForCausalLM.from_pretrained(tiny_policy_dir).eval()
    ids, mask, _ = prompts_encode(tokenizer, PROMPTS * 2, template=TEMPLATE, max_tokens=64, device="cpu")
    torch.manual_seed(0)
    batch = responses_generate(
        policy, tokenizer, prompts=PROMPTS * 2, queries=ids, query_mask=mask, temperature=2.0, max_new_tokens=24
    )  # hot, so some rows stop early
    lengths = batch.response_mask.sum(1)
    for row in range(len(batch.prompts)):
        tokens = batch.responses[row]
        if batch.has_eos[row]:
            assert tokens[lengths[row] - 1] == tokenizer.eos_token_id
            assert (tokens[: lengths[row] - 1] != tokenizer.eos_token_id).all()
        assert (tokens[lengths[row] :] == tokenizer.pad_token_id).all()
    assert batch.has_eos.any()


@pytest.fixture
def trained_layout_reward_model(tiny_reward_model_dir, tiny_policy_dir, tmp_path):
    """The tiny reward model plus the metadata reward training writes (offset and instruction template)."""
    import shutil

    folder = tmp_path / "rm"
    shutil.copytree(tiny_reward_model_dir, folder)
    config = json.loads((folder / "config.json").read_text())
    config["reward_bias"] = 0.25
    (folder / "config.json").write_text(json.dumps(config))
    load_tokenizer(tiny_policy_dir).save_pretrained(folder)
    (folder / "reward_config.json").write_text(
        json.dumps({"config": {"instruction_template": TEMPLATE, "max_length": 512}, "reward_bias": 0.25})
    )
    return folder


@pytest.mark.parametrize(
    "ended",
    [(True, True), (False, True)],
    ids=["both-end-on-eos", "first-cut-off-by-the-token-cap"],
)
def test_reward_model_scorer_matches_reward_model_score(trained_layout_reward_model, tiny_policy_dir, ended):
    """The exact sampled tokens score as the text-level scorer scores the text, which ends it with EOS as reward
    training does; a response that ran out of tokens (no EOS, the longest row) gets that EOS appended."""
    from rewards.scoring import reward_model_score

    tokenizer = load_tokenizer(tiny_policy_dir)
    prompts = ["the fox", "a crow sat on a branch with cheese"]
    answers = ["it was clever and then it ran far away", "pride"]
    ids, mask, _ = prompts_encode(tokenizer, prompts, template=TEMPLATE, max_tokens=64, device="cpu")
    encoded = [
        tokenizer(a, add_special_tokens=False)["input_ids"] + ([tokenizer.eos_token_id] if end else [])
        for a, end in zip(answers, ended, strict=True)
    ]
    width = max(map(len, encoded))
    responses = torch.full((2, width), tokenizer.pad_token_id)
    for row, tokens in enumerate(encoded):
        responses[row, : len(tokens)] = torch.tensor(tokens)
    has_eos = torch.tensor(ended)
    batch = Batch(prompts, ids, mask, responses, responses != tokenizer.pad_token_id, has_eos, answers)
    scorer = RewardModelScorer(
        trained_layout_reward_model,
        device=torch.device("cpu"),
        eos_token_id=tokenizer.eos_token_id,
        instruction_template=TEMPLATE,
    )
    expected = reward_model_score(
        model_dir=trained_layout_reward_model, prompts=prompts, responses=answers, device="cpu"
    )
    torch.testing.assert_close(
        scorer.score_batch(batch), torch.tensor(expected, dtype=torch.float32), rtol=1e-4, atol=1e-4
    )
    # The batch PPO goes on to train on is untouched: a missing EOS still draws the penalty.
    assert batch.has_eos.tolist() == list(ended)
    assert batch.responses.shape[1] == width
    with pytest.raises(ValueError, match="instruction template"):
        RewardModelScorer(
            trained_layout_reward_model,
            device=torch.device("cpu"),
            eos_token_id=tokenizer.eos_token_id,
            instruction_template="{text}",
        )


def test_prompt_token_budget_leaves_room_for_the_response():
    from types import SimpleNamespace

    from training.ppo.rollout import prompt_token_budget

    assert (
        prompt_token_budget(SimpleNamespace(max_position_embeddings=512), max_prompt_tokens=512, max_new_tokens=53)
        == 459
    )
    assert prompt_token_budget(SimpleNamespace(n_positions=2048), max_prompt_tokens=512, max_new_tokens=53) == 512
    assert prompt_token_budget(SimpleNamespace(), max_prompt_tokens=100, max_new_tokens=53) == 100
    with pytest.raises(ValueError, match="no room"):
        prompt_token_budget(SimpleNamespace(max_position_embeddings=32), max_prompt_tokens=512, max_new_tokens=32)

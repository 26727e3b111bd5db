"""One optimisation step on a fixed batch, run under `accelerate launch` by tests/training/test_distributed.py.

`ppo POLICY REWARD_MODEL OUT`: one PPO update (rollout_score + ppo_update) on a fixed batch of 8.
`reward BASE OUT`: one reward-training step (TRL Trainer) on 8 fixed pairs.
Rank 0 writes the updated weights to OUT (a torch file); each process holds its share of the batch.
"""

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

GLOBAL_BATCH = 8


def ppo_step(policy_dir: Path, reward_model_dir: Path, out: Path) -> None:
    from tests.training.ppo_fixtures import PROMPTS, e_frequency_score, fast_config
    from training.distributed import process_group
    from training.loading import load_tokenizer
    from training.ppo.actors import actors_load
    from training.ppo.math import truncate_after_eos
    from training.ppo.rollout import Batch, prompts_encode
    from training.ppo.trainer import ppo_update, rollout_score

    torch.set_num_threads(1)
    config = fast_config(batch_size=GLOBAL_BATCH, mini_batch_size=GLOBAL_BATCH, ppo_epochs=1, learning_rate=1e-3)
    group = process_group("cpu")
    tokenizer = load_tokenizer(policy_dir)
    actors = actors_load(config=config, policy_dir=policy_dir, value_init_dir=reward_model_dir, device=group.device)
    prompts = PROMPTS[:GLOBAL_BATCH]
    queries, query_mask, _ = prompts_encode(tokenizer, prompts, template="{text}", max_tokens=64, device="cpu")
    raw = torch.randint(3, len(tokenizer), (GLOBAL_BATCH, 6), generator=torch.Generator().manual_seed(0))
    for row, stop in enumerate([1, 3, 5, 6, 2, 4, 6, 0]):  # responses of unequal lengths, some without EOS
        if stop < 6:
            raw[row, stop] = tokenizer.eos_token_id
    responses, mask, has_eos = truncate_after_eos(
        raw, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id
    )
    texts = tokenizer.batch_decode(responses, skip_special_tokens=True)
    rows = group.shard(list(range(GLOBAL_BATCH)))
    index = torch.tensor(rows)
    batch = Batch(
        [prompts[i] for i in rows],
        queries[index],
        query_mask[index],
        responses[index],
        mask[index],
        has_eos[index],
        [texts[i] for i in rows],
    )
    rollout = rollout_score(config=config, actors=actors, scorer=e_frequency_score, batch=batch, group=group)
    optimizer = torch.optim.AdamW(actors.trainable(), lr=config.learning_rate, eps=config.adam_eps)
    ppo_update(config=config, rollout=rollout, actors=actors, optimizer=optimizer, group=group)
    if group.is_main:
        torch.save(
            {
                "policy": {k: v.clone() for k, v in actors.policy.state_dict().items()},
                "value": {k: v.clone() for k, v in actors.value_model.state_dict().items()},
                "advantages_std": float(rollout.advantages[rollout.batch.response_mask].std()),
            },
            out,
        )


def reward_step(base_dir: Path, out: Path) -> None:
    import os

    from safetensors.torch import load_file

    from rewards.config import RewardConfig
    from rewards.train import reward_model_train
    from tests.rewards.conftest import synthetic_preferences

    torch.set_num_threads(1)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    config = RewardConfig(
        max_length=48,
        instruction_template="{text}",
        learning_rate=1e-2,
        # Adam's first step is about lr * sign(g): a large epsilon keeps float noise on near-zero gradients
        # (summed in another order over 2 processes) from flipping whole steps.
        adam_eps=1e-3,
        batch_size=GLOBAL_BATCH // world,
        max_steps=1,
        warmup_ratio=0.0,
    )
    model_dir = out.with_suffix(".model")
    reward_model_train(
        config=config,
        train=synthetic_preferences(GLOBAL_BATCH, seed=0),
        eval=[],
        base_model_dir=base_dir,
        out_dir=model_dir,
    )
    if int(os.environ.get("RANK", "0")) == 0:
        torch.save({"reward": load_file(model_dir / "model.safetensors")}, out)


if __name__ == "__main__":
    kind, *paths = sys.argv[1:]
    if kind == "ppo":
        ppo_step(Path(paths[0]), Path(paths[1]), Path(paths[2]))
    else:
        reward_step(Path(paths[0]), Path(paths[1]))

"""PPO demo on SmolLM2-135M: train a reward model on fable comparisons, run PPO, compare held-out scores.

Comparisons: for each training fable the reference moral (chosen) against a sample of the initial
policy (rejected). Held-out fables are never seen by the reward model or PPO.

    python bench/ppo_demo.py --out bench/out/ppo-demo
Each stage is cached in --out, so a rerun resumes where it stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rewards.config import RewardConfig
from rewards.data import PreferenceExample
from rewards.train import reward_model_train
from training.commands import tqdm_progress
from training.loading import resolve_model
from training.ppo import PPOConfig, policy_evaluate, ppo_train
from training.sampling import DEFAULT_INSTRUCTION_TEMPLATE, SamplingConfig, generate_samples

FABLES = Path(__file__).resolve().parents[2] / "shared" / "data" / "fables.jsonl"


def _stage(name: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {name}", file=sys.stderr, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("bench/out/ppo-demo"))
    parser.add_argument("--heldout", type=int, default=10, help="fables kept out of RM and PPO training")
    parser.add_argument("--episodes", type=int, default=64, help="PPO episodes (prompts rolled out)")
    parser.add_argument("--samples-per-prompt", type=int, default=2, help="rejected samples per training fable")
    parser.add_argument("--eval-repeats", type=int, default=4, help="samples per held-out fable in evaluation")
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--learning-rate", type=float, default=2e-5)
    parser.add_argument("--ppo-epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    template = DEFAULT_INSTRUCTION_TEMPLATE

    fables = [json.loads(line) for line in FABLES.read_text(encoding="utf-8").splitlines() if line.strip()]
    random.Random(args.seed).shuffle(fables)
    heldout, train = fables[: args.heldout], fables[args.heldout :]
    policy_dir = resolve_model("smollm2-135m")

    rm_dir = out / "reward_model"
    if not (rm_dir / "reward_config.json").is_file():
        _stage(f"sampling rejected responses for {len(train)} training fables")
        samples = generate_samples(
            model_dir=policy_dir,
            prompts=[f["text"] for f in train],
            config=SamplingConfig(
                temperature=0.7,
                max_new_tokens=args.max_new_tokens,
                batch_size=8,
                seed=args.seed,
                samples_per_prompt=args.samples_per_prompt,
                instruction_template=template,
            ),
        )
        pairs = [
            PreferenceExample(prompt=s.prompt, chosen=train[s.prompt_index]["reference"] + ".", rejected=s.text)
            for s in samples
        ]
        with open(out / "comparisons.jsonl", "w", encoding="utf-8") as fh:
            for p in pairs:
                fh.write(json.dumps({"prompt": p.prompt, "chosen": p.chosen, "rejected": p.rejected}) + "\n")
        _stage(f"training the reward model on {len(pairs)} comparisons")
        progress, bar = tqdm_progress("reward model")
        rm = reward_model_train(
            config=RewardConfig(
                max_length=320,
                instruction_template=template,
                learning_rate=5e-5,
                num_epochs=1,
                batch_size=8,
                freeze_layers=20,
                seed=args.seed,
                logging_steps=2,
            ),
            train=pairs,
            eval=[],
            base_model_dir=policy_dir,
            out_dir=rm_dir,
            progress=progress,
        )
        bar.close()
        _stage(f"reward model trained in {rm.train_seconds:.0f} s, losses {rm.loss_history}")

    eval_prompts = [f["text"] for f in heldout] * args.eval_repeats
    evaluation = dict(
        reference_dir=policy_dir,
        prompts=eval_prompts,
        reward_model_dir=rm_dir,
        max_new_tokens=args.max_new_tokens,
        batch_size=8,
        seed=args.seed + 1,
        instruction_template=template,
    )
    before_path = out / "eval_before.json"
    if not before_path.is_file():
        _stage("evaluating the initial policy on held-out fables")
        before_path.write_text(json.dumps(policy_evaluate(policy_dir=policy_dir, **evaluation), indent=2))
    before = json.loads(before_path.read_text())

    config = PPOConfig(
        seed=args.seed,
        total_episodes=args.episodes,
        batch_size=args.batch_size,
        mini_batch_size=args.batch_size,
        ppo_epochs=args.ppo_epochs,
        learning_rate=args.learning_rate,
        max_new_tokens=args.max_new_tokens,
        instruction_template=template,
        save_every=2,
    )
    _stage(f"PPO: {args.episodes} episodes over {len(train)} training fables")
    progress, bar = tqdm_progress("ppo")
    started = time.perf_counter()
    result = ppo_train(
        config=config,
        policy_dir=policy_dir,
        reward_model_dir=rm_dir,
        prompts=[f["text"] for f in train],
        out_dir=out / "ppo",
        progress=progress,
    )
    bar.close()
    ppo_seconds = time.perf_counter() - started

    _stage("evaluating the PPO policy on held-out fables")
    after = policy_evaluate(policy_dir=result.policy_dir, **evaluation)
    (out / "eval_after.json").write_text(json.dumps(after, indent=2))
    phases = {k: sum(m[f"time_{k}"] for m in result.metrics) for k in ("generation", "scoring", "optimisation")}
    summary = {
        "heldout_prompts": len(heldout),
        "eval_samples": after["n"],
        "ppo_episodes": result.episodes,
        "ppo_steps": result.steps,
        "ppo_seconds_this_process": round(ppo_seconds, 1),
        "phase_seconds": {k: round(v, 1) for k, v in phases.items()},
        "before": before,
        "after": after,
        "score_gain": after["score"] - before["score"],
        "score_gain_in_sem": (after["score"] - before["score"])
        / max((before["score_sem"] ** 2 + after["score_sem"] ** 2) ** 0.5, 1e-9),
        "train_curve": [
            {k: round(m[k], 4) for k in ("step", "score", "kl", "eos_rate", "response_length")} for m in result.metrics
        ],
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

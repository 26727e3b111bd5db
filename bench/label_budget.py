"""Label-budget curve on HH-RLHF harmless: held-out accuracy of a cheap reward model against the number of
labeled pairs, when the pairs are drawn at random or by uncertainty (rewards.selection) from the same pool.

The reward model is a Bradley–Terry logistic head on frozen SmolLM2-135M features: P(A ≻ B) = σ(w·(f_A − f_B)).
Features (the hidden state after block 15 of 30, at the EOS token and mean-pooled over the response, in the
chat layout the reward model reads) are computed once and cached, resumably, in an .npz file:

    OMP_NUM_THREADS=1 nohup python bench/label_budget.py features --model data/models/smollm2-135m &
    python bench/label_budget.py curve --seeds 5 --svg bench/out/label-budget.svg
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labeling.stats.intervals import wilson_interval
from rewards.data import PreferenceExample, preferences_from_hh_rlhf
from rewards.selection import select_pairs

DEFAULT_SOURCE = Path(__file__).resolve().parents[2] / "shared" / "data" / "hh-rlhf-harmless-dev.jsonl.gz"
DEFAULT_FEATURES = Path("bench/out/hh-smollm2-l15-features-128.npz")
BUDGETS = (50, 100, 200, 300, 400, 600, 800, 1000, 1200, 1400)
TEST_PAIRS = 400  # bench/hh_split.py's default held-out size
SPLIT_SEED = 0  # bench/hh_split.py's default seed: the same pairs are held out


def hh_split(source: Path) -> tuple[list[PreferenceExample], list[PreferenceExample]]:
    """(train pool, test) exactly as bench/hh_split.py writes them with its defaults."""
    examples, _ = preferences_from_hh_rlhf(source)
    random.Random(SPLIT_SEED).shuffle(examples)
    return examples[TEST_PAIRS:], examples[:TEST_PAIRS]


# ---------------------------------------------------------------- features (slow, once, resumable)


def extract_features(args: argparse.Namespace) -> None:
    import warnings

    import torch
    from tqdm.auto import tqdm
    from transformers import AutoConfig, AutoModel

    from training.loading import load_tokenizer
    from training.sampling import format_prompt

    warnings.filterwarnings("ignore", message=".*past_key_values.*")
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    pool, test = hh_split(args.source)
    examples = pool + test
    tokenizer = load_tokenizer(args.model)
    config = AutoConfig.from_pretrained(args.model)
    config.num_hidden_layers = args.layers  # the later blocks are never run: half the CPU for a linear probe
    model = AutoModel.from_pretrained(args.model, config=config, dtype=torch.float32).eval()
    width = model.config.hidden_size
    # (pairs, 2 = chosen/rejected, 2 = EOS state/response mean, hidden)
    features = np.zeros((len(examples), 2, 2, width), dtype=np.float32)
    filled = np.zeros(len(examples), dtype=bool)
    if args.out.is_file():
        cached = np.load(args.out)
        if cached["features"].shape == features.shape and int(cached["max_length"]) == args.max_length:
            features, filled = cached["features"], cached["filled"]
    # The held-out pairs first, so that a run cut short still gives a curve over the pool extracted so far.
    todo = [i for i in [*range(len(pool), len(examples)), *range(len(pool))] if not filled[i]]
    bar = tqdm(total=len(examples), initial=int(filled.sum()), desc="HH features", unit="pair", mininterval=10)
    started = time.monotonic()
    with torch.no_grad():
        for number, i in enumerate(todo, 1):
            features[i] = _pair_features(model, tokenizer, examples[i], format_prompt, args)
            filled[i] = True
            if number % args.chunk == 0 or number == len(todo):
                _save_features(args.out, features, filled, args.max_length)
            bar.update()
    bar.close()
    print(f"{int(filled.sum())} pairs in {args.out} ({time.monotonic() - started:.0f} s this run)")


def _pair_features(model, tokenizer, example: PreferenceExample, format_prompt, args: argparse.Namespace) -> np.ndarray:
    """(2, 2, H): chat-formatted prompt + response + EOS, as the reward model reads it, but with the prompt run
    once and its key/value cache shared by both responses (the one prompt, cut from the left to fit the longer
    response, keeps both sequences in one layout and costs a third less CPU)."""
    import torch

    prompt_ids = tokenizer(format_prompt(tokenizer, example.prompt, args.template), add_special_tokens=False)[
        "input_ids"
    ]
    responses = [
        tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"][: args.max_length // 2 - 1]
        + [tokenizer.eos_token_id]
        for text in (example.chosen, example.rejected)
    ]
    longest = max(len(r) for r in responses)
    prompt_ids = prompt_ids[-(args.max_length - longest) :]
    cache = model(input_ids=torch.tensor([prompt_ids]), use_cache=True).past_key_values
    cache.batch_repeat_interleave(2)
    ids = torch.full((2, longest), tokenizer.pad_token_id, dtype=torch.long)  # (2, R) right-padded
    mask = torch.ones((2, len(prompt_ids) + longest), dtype=torch.long)  # (2, P + R)
    for row, response in enumerate(responses):
        ids[row, : len(response)] = torch.tensor(response)
        mask[row, len(prompt_ids) + len(response) :] = 0
    hidden = model(input_ids=ids, attention_mask=mask, past_key_values=cache).last_hidden_state  # (2, R, H)
    out = np.zeros((2, 2, hidden.shape[-1]), dtype=np.float32)
    for row, response in enumerate(responses):
        out[row, 0] = hidden[row, len(response) - 1].numpy()  # the EOS token
        out[row, 1] = hidden[row, : len(response)].mean(dim=0).numpy()
    return out


def _save_features(path: Path, features: np.ndarray, filled: np.ndarray, max_length: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, features=features, filled=filled, max_length=max_length)
    tmp.replace(path)  # a killed run never leaves a half-written cache


# ---------------------------------------------------------------- the curve (seconds, from the cache)


@dataclass(frozen=True)
class PairFeatures:
    chosen: np.ndarray  # (pairs, D)
    rejected: np.ndarray  # (pairs, D)


def load_features(path: Path, n_pool: int, kind: str) -> tuple[PairFeatures, PairFeatures]:
    """(pool, test) features of the pairs extracted so far, standardised with the pool's statistics."""
    cached = np.load(path)
    features, filled = cached["features"], cached["filled"]
    if not filled[n_pool:].all():
        raise ValueError(f"{path}: the {len(filled) - n_pool} held-out pairs are not all extracted yet")
    parts = {"eos": [0], "mean": [1], "both": [0, 1]}[kind]
    flat = features[:, :, parts, :].reshape(len(features), 2, -1)  # (pairs, 2, D)
    pool = flat[:n_pool][filled[:n_pool]]
    test = flat[n_pool:]
    mean = pool.reshape(-1, pool.shape[-1]).mean(axis=0)
    std = pool.reshape(-1, pool.shape[-1]).std(axis=0) + 1e-6
    pool, test = (pool - mean) / std, (test - mean) / std
    return PairFeatures(pool[:, 0], pool[:, 1]), PairFeatures(test[:, 0], test[:, 1])


def fit_bradley_terry(diff: np.ndarray, c: float) -> np.ndarray:
    """Weights w of P(chosen ≻ rejected) = σ(w·(f_c − f_r)): a logistic regression without intercept on ±diff."""
    from sklearn.linear_model import LogisticRegression

    x = np.concatenate([diff, -diff])  # both orders, so the labels are balanced and no intercept is needed
    y = np.concatenate([np.ones(len(diff)), np.zeros(len(diff))])
    model = LogisticRegression(C=c, fit_intercept=False, max_iter=2000)
    return model.fit(x, y).coef_[0]


def accuracy(weights: np.ndarray, pairs: PairFeatures) -> float:
    margin = (pairs.chosen - pairs.rejected) @ weights
    return float(np.mean((margin > 0) + 0.5 * (margin == 0)))


def choose_c(pool: PairFeatures, grid: tuple[float, ...], seed: int) -> float:
    """The L2 strength by 5-fold cross-validation on the whole pool (labels the curve later reveals step by step)."""
    folds = np.random.default_rng(seed).permutation(len(pool.chosen)) % 5
    diff = pool.chosen - pool.rejected
    best = max(
        grid,
        key=lambda c: np.mean(
            [
                accuracy(
                    fit_bradley_terry(diff[folds != f], c),
                    PairFeatures(pool.chosen[folds == f], pool.rejected[folds == f]),
                )
                for f in range(5)
            ]
        ),
    )
    return best


def budget_run(
    pool: PairFeatures,
    test: PairFeatures,
    *,
    strategy: str,
    budgets: list[int],
    step: int,
    c: float,
    explore: float,
    seed: int,
) -> list[float]:
    """Held-out accuracy at each budget while labels are bought `step` at a time by `strategy`."""
    n = len(pool.chosen)
    diff = pool.chosen - pool.rejected
    # The first labels are random for both strategies (a first round has no reward model), from one seed.
    labeled = select_pairs(budgets[0], n_candidates=n, strategy="random", seed=seed)
    weights = fit_bradley_terry(diff[labeled], c)
    accuracies = [accuracy(weights, test)]
    for budget in budgets[1:]:
        while len(labeled) < budget:
            rest = np.setdiff1d(np.arange(n), labeled)
            k = min(step, budget - len(labeled))
            picked = select_pairs(
                k,
                n_candidates=len(rest),
                scores_a=pool.chosen[rest] @ weights,  # which side is "chosen" is unknown to the selector:
                scores_b=pool.rejected[rest] @ weights,  # |P(A ≻ B) − ½| is symmetric in A and B
                strategy="uncertainty" if strategy == "uncertainty" else "random",
                explore_fraction=explore,
                seed=seed * 100_003 + len(labeled),
            )
            labeled = [*labeled, *rest[picked].tolist()]
            weights = fit_bradley_terry(diff[labeled], c)
        accuracies.append(accuracy(weights, test))
    return accuracies


def draw_curve(args: argparse.Namespace) -> None:
    pool_examples, _ = hh_split(args.source)
    pool, test = load_features(args.features, len(pool_examples), args.feature)
    budgets = [b for b in BUDGETS if b <= len(pool.chosen)]
    if len(pool.chosen) > budgets[-1] and len(pool.chosen) < BUDGETS[-1]:
        budgets.append(len(pool.chosen))  # a partial cache: end at the pool extracted so far
    started = time.monotonic()
    c = args.c if args.c else choose_c(pool, (0.00003, 0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1), seed=0)
    results = {
        strategy: np.array(
            [
                budget_run(
                    pool, test, strategy=strategy, budgets=budgets, step=args.step, c=c, explore=args.explore, seed=seed
                )
                for seed in range(args.seeds)
            ]
        )  # (seeds, budgets)
        for strategy in ("random", "uncertainty")
    }
    n_test = len(test.chosen)
    print(
        f"pool {len(pool.chosen)} pairs, test {n_test}, features {args.feature}, C = {c:g}, {args.seeds} seeds, "
        f"step {args.step}, explore {args.explore:g} ({time.monotonic() - started:.0f} s)"
    )
    print(
        "| labeled pairs | random: accuracy [Wilson 95%] (seed range) | uncertainty: accuracy [Wilson 95%] (seed range) | uncertainty − random (± s.d. over seeds) |"
    )
    print("|---:|---|---|---:|")
    for column, budget in enumerate(budgets):
        cells = []
        for strategy in ("random", "uncertainty"):
            acc = results[strategy][:, column]
            low, high = wilson_interval(acc.mean() * n_test, n_test)
            cells.append(f"{acc.mean():.3f} [{low:.3f}, {high:.3f}] ({acc.min():.3f}–{acc.max():.3f})")
        gain = results["uncertainty"][:, column] - results["random"][:, column]
        print(f"| {budget} | {cells[0]} | {cells[1]} | {gain.mean():+.3f} ± {gain.std():.3f} |")
    if args.svg:
        args.svg.parent.mkdir(parents=True, exist_ok=True)
        args.svg.write_text(curve_svg(budgets, results, n_test), encoding="utf-8")
        print(f"chart: {args.svg}")


def curve_svg(budgets: list[int], results: dict[str, np.ndarray], n_test: int) -> str:
    """Mean accuracy per strategy over the budgets, with the Wilson 95% band of the mean."""
    width, height, pad = 560, 320, 48
    colours = {"random": "#6b7280", "uncertainty": "#2563eb"}
    bands = {s: wilson_interval(r.mean(axis=0) * n_test, n_test) for s, r in results.items()}
    y_lo = min(float(np.min(b[0])) for b in bands.values()) - 0.01
    y_hi = max(float(np.max(b[1])) for b in bands.values()) + 0.01

    def sx(x: float) -> float:
        return pad + (x - budgets[0]) / ((budgets[-1] - budgets[0]) or 1) * (width - 2 * pad)

    def sy(y: float) -> float:
        return height - pad - (y - y_lo) / (y_hi - y_lo) * (height - 2 * pad)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        'font-family="sans-serif" font-size="11">',
        f'<text x="{pad}" y="18" font-size="13">HH-harmless held-out accuracy vs labeled pairs (BT head on SmolLM2-135M features)</text>',
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#999"/>',
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="#999"/>',
        f'<text x="{width / 2 - 40}" y="{height - 10}">labeled pairs</text>',
    ]
    for tick in np.linspace(y_lo, y_hi, 5):
        parts.append(f'<text x="4" y="{sy(tick) + 4:.1f}">{tick:.3f}</text>')
    for budget in budgets:
        parts.append(f'<text x="{sx(budget) - 10:.1f}" y="{height - pad + 14}">{budget}</text>')
    for row, (strategy, result) in enumerate(results.items()):
        low, high = bands[strategy]
        outline = [f"{sx(b):.1f},{sy(v):.1f}" for b, v in zip(budgets, high, strict=True)]
        outline += [f"{sx(b):.1f},{sy(v):.1f}" for b, v in zip(budgets[::-1], low[::-1], strict=True)]
        parts.append(f'<polygon points="{" ".join(outline)}" fill="{colours[strategy]}" fill-opacity="0.15"/>')
        line = " ".join(f"{sx(b):.1f},{sy(v):.1f}" for b, v in zip(budgets, result.mean(axis=0), strict=True))
        parts.append(f'<polyline points="{line}" fill="none" stroke="{colours[strategy]}" stroke-width="2"/>')
        parts.append(
            f'<text x="{width - pad - 90}" y="{height - pad - 20 - 14 * row}" fill="{colours[strategy]}">{strategy}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    features = commands.add_parser("features", help="compute and cache the frozen-model features (slow, resumable)")
    features.add_argument("--model", type=Path, default=Path("data/models/smollm2-135m"))
    features.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    features.add_argument("--out", type=Path, default=DEFAULT_FEATURES)
    features.add_argument("--max-length", type=int, default=128)
    features.add_argument("--template", default="{text}", help="user message; HH prompts are whole dialogues")
    features.add_argument("--layers", type=int, default=15, help="transformer blocks to run (SmolLM2-135M has 30)")
    features.add_argument("--chunk", type=int, default=25, help="pairs between two cache saves")
    features.set_defaults(run=extract_features)
    curve = commands.add_parser("curve", help="the label-budget curve from the cached features (table + SVG)")
    curve.add_argument("--features", type=Path, default=DEFAULT_FEATURES)
    curve.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    curve.add_argument("--feature", choices=("eos", "mean", "both"), default="both")
    curve.add_argument("--seeds", type=int, default=5)
    curve.add_argument("--step", type=int, default=50, help="pairs bought between two refits")
    curve.add_argument("--explore", type=float, default=0.1, help="random share of each uncertainty batch")
    curve.add_argument("--c", type=float, default=0.0, help="L2 inverse strength; 0 = 5-fold CV on the pool")
    curve.add_argument("--svg", type=Path, default=Path("bench/out/label-budget.svg"))
    curve.set_defaults(run=draw_curve)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()

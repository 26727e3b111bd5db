"""Write a fixed, seeded train/test split of the HH-RLHF harmless dev pairs as TRL JSONL files."""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rewards.data import preferences_from_hh_rlhf, save_preferences

DEFAULT_SOURCE = Path(__file__).resolve().parents[2] / "shared" / "data" / "hh-rlhf-harmless-dev.jsonl.gz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    parser.add_argument("--test", type=int, default=400, help="held-out pairs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    examples, skipped = preferences_from_hh_rlhf(args.source)
    random.Random(args.seed).shuffle(examples)
    args.out.mkdir(parents=True, exist_ok=True)
    save_preferences(args.out / "hh-test.jsonl", examples[: args.test])
    save_preferences(args.out / "hh-train.jsonl", examples[args.test :])
    print(
        f"{len(examples) - args.test} train, {args.test} test pairs in {args.out} ({skipped} skipped: no shared prompt)"
    )


if __name__ == "__main__":
    main()

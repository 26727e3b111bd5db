"""`python -m training <subcommand>`: sampling, model conversion, PPO and policy evaluation without Django."""

from __future__ import annotations

import argparse
import os
import sys

from training.commands import BEST_OF_N, CONVERT_SMOLLM2, SAMPLE, Subcommand
from training.ppo.cli import EVALUATE, PPO

# To add a subcommand: build a `Subcommand(help, configure, run)` next to its engine and list it here.
SUBCOMMANDS: dict[str, Subcommand] = {
    "convert-smollm2": CONVERT_SMOLLM2,
    "sample": SAMPLE,
    "ppo": PPO,
    "best-of-n": BEST_OF_N,
    "evaluate": EVALUATE,
}


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # models are local folders; never reach a hub
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name, command in SUBCOMMANDS.items():
        command.configure(subparsers.add_parser(name, help=command.help, description=command.help))
    args = parser.parse_args(argv)
    try:
        return SUBCOMMANDS[args.command].run(args)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""Import results and failures said plainly, the same way on the command line and in the browser."""

from __future__ import annotations

from .imports import ImportResult


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def import_summary(*, kind: str, result: ImportResult) -> str:
    """E.g. 'Read 50 lines: nothing new, all 50 prompts were already in the project.'"""
    skipped = len(result.details.get("skipped", []))
    read = result.lines - skipped
    if kind == "prompts":
        existing = max(read - result.prompts_created, 0)
        if result.prompts_created == 0 and read:
            what = f"nothing new, all {_count(read, 'prompt')} were already in the project"
        else:
            what = (
                f"{_count(result.prompts_created, 'new prompt')}, {_count(result.samples_created, 'reference sample')}"
            )
            if existing:
                what += f"; {existing} already in the project"
    else:
        if result.pairs_created == 0 and result.pairs_existing:
            what = f"nothing new, all {_count(result.pairs_existing, 'pair')} were already in the project"
        else:
            what = (
                f"{_count(result.pairs_created, 'new pair')} ({_count(result.prompts_created, 'new prompt')}, "
                f"{_count(result.samples_created, 'new response')})"
            )
            if result.pairs_existing:
                what += f"; {result.pairs_existing} already in the project"
    text = f"Read {_count(result.lines, 'line')}: {what}."
    if skipped:
        text += f" Skipped {_count(skipped, 'invalid line')} (listed below)."
    return text


def import_failure_hint(*, n_errors: int) -> str:
    """What to do when a file with bad lines imported nothing."""
    return (
        f"Nothing was imported: {_count(n_errors, 'line')} could not be read (listed below). Fix them, or import "
        "the valid lines and list the bad ones with --skip-invalid (in the browser: 'Skip invalid lines')."
    )

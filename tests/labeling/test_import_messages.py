"""The README's import commands on the shared files: a failure that says what to do, results said plainly."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from labeling.models import Pair
from tests.conftest import SHARED_DATA

HH = SHARED_DATA / "hh-rlhf-harmless-dev.jsonl.gz"
FABLES = SHARED_DATA / "fables.jsonl"


def run(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command("import_data", *args, stdout=out)
    return out.getvalue()


def test_hh_import_suggests_skip_invalid_and_then_works(make_project):
    project = make_project(pairs=0, slug="hh-harmless")
    with pytest.raises(CommandError) as failure:
        run("pairs", str(HH), "--project", project.slug)
    message = str(failure.value)
    assert "Nothing was imported" in message and "--skip-invalid" in message and "line " in message
    assert not Pair.objects.filter(project=project).exists()

    summary = run("pairs", str(HH), "--project", project.slug, "--skip-invalid")
    created = Pair.objects.filter(project=project).count()
    assert created > 0
    assert f"{created} new pair" in summary and "Skipped 2 invalid lines" in summary
    again = run("pairs", str(HH), "--project", project.slug, "--skip-invalid")
    assert f"nothing new, all {created} pairs were already in the project" in again


def test_reimporting_prompts_says_nothing_new(make_project):
    project = make_project(pairs=0, slug="fables")
    first = run("prompts", str(FABLES), "--project", project.slug)
    assert "new prompt" in first
    again = run("prompts", str(FABLES), "--project", project.slug)
    assert "nothing new, all" in again and "prompts were already in the project" in again
    assert "0 new" not in again

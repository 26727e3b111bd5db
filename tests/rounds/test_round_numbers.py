"""Rounds are named by their number within the project everywhere users meet them: commands and pair batches."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from labeling.services.imports import pairs_import
from rounds.services.lifecycle import round_create
from rounds.simulation import simulated_labelers_run
from tests.conftest import pair_lines

from .conftest import TINY_SETTINGS

pytestmark = pytest.mark.django_db


def test_a_rounds_pairs_are_exported_by_its_number(fable_project, make_project, researcher, tmp_path):
    # Another project's round takes id 1, so this project's round 1 has a different id.
    other = make_project(pairs=0)
    from labeling.services.imports import prompts_import

    from .conftest import fable_lines

    prompts_import(project=other, lines=fable_lines(3))
    round_create(project=other, created_by=researcher, settings=TINY_SETTINGS)
    r = round_create(project=fable_project, created_by=researcher, settings=TINY_SETTINGS)
    assert r.number == 1 and r.id != 1 and r.batch == "round-1"
    # Response b is longer: the simulated labelers' default oracle prefers a, so no judgment is a tie.
    rows = [json.loads(line) | {"batch": r.batch, "response_b": "a much longer and rambling summary " * 4}
            for line in pair_lines(3)]  # fmt: skip
    pairs_import(project=fable_project, lines=[json.dumps(row) for row in rows])
    simulated_labelers_run(project=fable_project, labelers=2, noise=0.0)

    out = tmp_path / "export"
    call_command("export_preferences", project=fable_project.slug, format="trl", out=str(out), round=[1],
                 split=(1, 0, 0), no_progress=True)  # fmt: skip
    assert json.loads((out / "manifest.json").read_text())["request"]["batches"] == ["round-1"]
    assert len((out / "train.jsonl").read_text().splitlines()) == 3  # one row per pair (majority)

    with pytest.raises(CommandError, match="No pairs of training round 2 in project"):
        call_command("export_preferences", project=fable_project.slug, format="trl", out=str(tmp_path / "x"),
                     round=[2], no_progress=True)  # fmt: skip
    with pytest.raises(CommandError, match="No round 2 in project"):
        call_command("round", "status", project=fable_project.slug, number=2)


def test_the_migration_renames_batches_from_round_ids_to_numbers_and_back(fable_project, make_project, researcher):
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from labeling.models import Pair
    from labeling.services.imports import prompts_import

    from .conftest import fable_lines

    other = make_project(pairs=0)
    prompts_import(project=other, lines=fable_lines(3))
    first = round_create(project=other, created_by=researcher, settings=TINY_SETTINGS)
    r = round_create(project=fable_project, created_by=researcher, settings=TINY_SETTINGS)
    assert (r.number, first.number) == (1, 1) and r.id != 1
    rows = [json.loads(line) | {"batch": batch} for line, batch in zip(pair_lines(2), [r.batch, r.eval_batch])]
    pairs_import(project=fable_project, lines=[json.dumps(row) for row in rows])

    def batches() -> list[str]:
        return sorted(Pair.objects.filter(project=fable_project).values_list("batch", flat=True))

    # Going back drops later migrations' columns; PostgreSQL refuses that while this transaction's deferred
    # foreign-key checks are pending, so they run now.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    executor = MigrationExecutor(connection)
    executor.migrate([("rounds", "0002_enqueue_error")])  # just before the renaming
    assert batches() == [f"round-{r.id}", f"round-{r.id}-eval"]
    executor = MigrationExecutor(connection)
    executor.migrate([("rounds", "0003_round_batches_by_number")])
    assert batches() == ["round-1", "round-1-eval"]

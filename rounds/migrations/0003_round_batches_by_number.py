"""Pair batches of training rounds are named by round number within the project (were: by round id)."""

from django.db import migrations


def _rename(apps, *, to_number: bool) -> None:
    TrainingRound = apps.get_model("rounds", "TrainingRound")
    Pair = apps.get_model("labeling", "Pair")
    moves = [
        (project_id, *((round_id, number) if to_number else (number, round_id)))
        for round_id, number, project_id in TrainingRound.objects.values_list("id", "number", "project_id")
    ]
    # Through temporary names, so a new name never meets an old one that is still to be renamed.
    for step in ("tmp", "final"):
        for project_id, source, target in moves:
            for suffix in ("", "-eval"):
                old = f"round-{source}{suffix}" if step == "tmp" else f"round-tmp-{target}{suffix}"
                new = f"round-tmp-{target}{suffix}" if step == "tmp" else f"round-{target}{suffix}"
                Pair.objects.filter(project_id=project_id, batch=old).update(batch=new)


def forwards(apps, schema_editor):
    _rename(apps, to_number=True)


def backwards(apps, schema_editor):
    _rename(apps, to_number=False)


class Migration(migrations.Migration):
    dependencies = [
        ("rounds", "0002_enqueue_error"),
        ("labeling", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]

"""python manage.py export_preferences --project SLUG --format FORMAT --out PATH [filters...]"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from labeling.exports.options import AGGREGATIONS, AGREEMENT_LEVELS, FORMATS, TIE_POLICIES, ExportRequest, round_batch
from labeling.exports.services import export_create, export_run, project_for_export
from labeling.services.errors import DomainError


def _split(text: str) -> tuple[float, float, float]:
    try:
        parts = tuple(float(p) for p in text.split(","))
    except ValueError as exc:
        raise CommandError(f"--split {text!r}: expected three comma-separated fractions like 0.9,0.05,0.05") from exc
    if len(parts) != 3:
        raise CommandError(f"--split {text!r}: expected exactly three fractions (train,validation,test)")
    return parts  # type: ignore[return-value]


def _date(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"{text!r} is not an ISO date (2026-01-31) or date-time") from exc


class Command(BaseCommand):
    help = "Export a project's judgments as a preference dataset, with a provenance manifest, into a new folder."

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True, help="project slug")
        parser.add_argument("--format", required=True, choices=FORMATS)
        parser.add_argument("--out", required=True, help="a new or empty folder for the data files and manifest")
        parser.add_argument("--aggregation", choices=AGGREGATIONS, default="pair",
                            help="one row per pair by majority (default) or one row per judgment")  # fmt: skip
        parser.add_argument("--ties", choices=TIE_POLICIES, default="drop",
                            help="drop ties, keep them as soft label 0.5, or keep them with margin 0")  # fmt: skip
        parser.add_argument("--margin", action="store_true", help="add a margin column from the confidence scale")
        parser.add_argument("--batch", action="append", default=[], help="only pairs of this batch (repeatable)")
        parser.add_argument("--round", action="append", type=int, default=[],
                            help="only pairs generated for training round N of the project (batch round-N; repeatable)")  # fmt: skip
        parser.add_argument("--policy", action="append", default=[],
                            help="only pairs with a sample from this policy (repeatable)")  # fmt: skip
        parser.add_argument("--since", type=_date, help="judgments made at or after this date")
        parser.add_argument("--until", type=_date, help="judgments made before this date")
        parser.add_argument("--min-agreement", choices=AGREEMENT_LEVELS, default="split")
        parser.add_argument("--include-excluded-labelers", action="store_true")
        parser.add_argument("--include-gold", action="store_true")
        parser.add_argument("--include-flagged", action="store_true", help="keep pairs with unresolved flags")
        parser.add_argument("--include-both-bad", action="store_true", help="raw format only")
        parser.add_argument("--all-revisions", action="store_true", help="raw format only")
        parser.add_argument("--split", type=_split, default=(0.9, 0.05, 0.05), help="train,validation,test")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--user", help="username recorded as the export's creator")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **o):
        try:
            project = project_for_export(slug=o["project"])
            for number in o["round"]:
                if not project.pairs.filter(batch=round_batch(number)).exists():
                    raise CommandError(f"No pairs of training round {number} in project {project.slug}.")
            request = ExportRequest(
                format=o["format"], aggregation=o["aggregation"], ties=o["ties"], include_margin=o["margin"],
                batches=tuple(o["batch"]) + tuple(round_batch(r) for r in o["round"]), policies=tuple(o["policy"]),
                since=o["since"], until=o["until"], min_agreement=o["min_agreement"],
                include_excluded_labelers=o["include_excluded_labelers"], include_gold=o["include_gold"],
                include_flagged=o["include_flagged"], include_both_bad=o["include_both_bad"],
                all_revisions=o["all_revisions"], split=o["split"], seed=o["seed"],
            )  # fmt: skip
            user = None
            if o["user"]:
                user = get_user_model().objects.filter(username=o["user"]).first()
                if user is None:
                    raise CommandError(f"Unknown user {o['user']!r}.")
            export = export_create(
                project=project, request=request, created_by=user, out_dir=Path(o["out"]).absolute(), enqueue=False
            )
            with tqdm(total=None, unit="judgment", disable=o["no_progress"], desc=f"export {export.id}") as bar:

                def progress(seen: int, total: int) -> None:
                    bar.total = total
                    bar.update(seen - bar.n)

                export = export_run(export_id=export.id, on_progress=progress)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        splits = ", ".join(f"{k} {v['rows']:,}" for k, v in export.manifest["counts"]["splits"].items())
        self.stdout.write(self.style.SUCCESS(
            f"Export {export.id}: {export.row_count:,} rows ({splits}) in {export.path}; manifest.json written."
        ))  # fmt: skip

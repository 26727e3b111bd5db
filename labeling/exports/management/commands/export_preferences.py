"""python manage.py export_preferences --project SLUG --format FORMAT --out PATH [filters...]"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from common.errors import DomainError
from labeling.exports.options import ExportRequest, export_fields, round_batch
from labeling.exports.services import export_create, export_run, project_for_export


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
        parser.add_argument("--out", required=True, help="a new or empty folder for the data files and manifest")
        for name, kind, default, meta in export_fields():
            flag = "--" + (meta.flag or name).replace("_", "-")
            dest = {"dest": name, "help": meta.help}
            if kind == "bool":
                parser.add_argument(flag, action="store_true", **dest)
            elif kind == "list":
                parser.add_argument(flag, action="append", default=[], **dest)
            else:
                parse = {"choice": str, "text": str, "int": int, "date": _date, "fractions": _split}[kind]
                parser.add_argument(flag, type=parse, choices=meta.choices or None, default=default,
                                    required=default is None and kind != "date", **dest)  # fmt: skip
        parser.add_argument("--round", action="append", type=int, default=[],
                            help="only pairs generated for training round N of the project (batch round-N; repeatable)")  # fmt: skip
        parser.add_argument("--user", help="username recorded as the export's creator")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **o):
        try:
            project = project_for_export(slug=o["project"])
            for number in o["round"]:
                if not project.pairs.filter(batch=round_batch(number)).exists():
                    raise CommandError(f"No pairs of training round {number} in project {project.slug}.")
            values = {name: o[name] for name, *_ in export_fields()}
            values["batches"] = tuple(o["batches"]) + tuple(round_batch(r) for r in o["round"])
            values["policies"] = tuple(o["policies"])
            request = ExportRequest(**values)
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

"""Import prompts or pairs from a JSONL file into a project, atomically."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from common.errors import DomainError
from labeling.models import Project
from labeling.services.import_messages import import_failure_hint, import_summary
from labeling.services.imports import ImportFileError, gunzip_upload, pairs_import, prompts_import


class Command(BaseCommand):
    help = "Import a JSONL (or .jsonl.gz) file of prompts or pairs (HH-RLHF chosen/rejected, or prompt/response_a/response_b)."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=["prompts", "pairs"])
        parser.add_argument("path", type=Path)
        parser.add_argument("--project", required=True)
        parser.add_argument("--gold", action="store_true", help="HH-RLHF pairs: use the human preference as gold.")
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="Import the valid lines and list the bad ones instead of failing.",
        )

    def handle(self, *args, kind, path, project, gold, skip_invalid, **options):
        target = Project.objects.filter(slug=project).first()
        if target is None:
            raise CommandError(f"No project {project!r}.")
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        try:
            data = path.read_bytes()
            if path.suffix == ".gz":
                data = gunzip_upload(data)
            lines = data.splitlines()
            if kind == "prompts":
                result = prompts_import(project=target, lines=lines, skip_invalid=skip_invalid)
            else:
                result = pairs_import(project=target, lines=lines, gold=gold, skip_invalid=skip_invalid)
        except ImportFileError as exc:
            errors = exc.extra.get("errors", [])
            if not errors:
                raise CommandError(exc.message) from exc
            listed = "\n".join(f"line {e['line']}: {e['field']}: {e['message']}" for e in errors[:20])
            more = f"\n... and {len(errors) - 20} more" if len(errors) > 20 else ""
            raise CommandError(f"{listed}{more}\n{import_failure_hint(n_errors=len(errors))}") from exc
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(import_summary(kind=kind, result=result))
        skipped = result.details.get("skipped", [])
        for error in skipped[:20]:
            self.stdout.write(f"skipped line {error['line']}: {error['field']}: {error['message']}")
        if len(skipped) > 20:
            self.stdout.write(f"... and {len(skipped) - 20} more skipped lines")

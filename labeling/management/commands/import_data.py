"""Import prompts or pairs from a JSONL file into a project, atomically."""
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from labeling.models import Project
from labeling.services.errors import DomainError
from labeling.services.imports import pairs_import, prompts_import


class Command(BaseCommand):
    help = "Import a JSONL file of prompts or pairs (HH-RLHF chosen/rejected, or prompt/response_a/response_b)."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=["prompts", "pairs"])
        parser.add_argument("path", type=Path)
        parser.add_argument("--project", required=True)
        parser.add_argument("--gold", action="store_true", help="HH-RLHF pairs: use the human preference as gold.")

    def handle(self, *args, kind, path, project, gold, **options):
        target = Project.objects.filter(slug=project).first()
        if target is None:
            raise CommandError(f"No project {project!r}.")
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        try:
            with path.open("rb") as handle:
                if kind == "prompts":
                    result = prompts_import(project=target, lines=handle)
                else:
                    result = pairs_import(project=target, lines=handle, gold=gold)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"{result.lines} lines: {result.prompts_created} new prompts, {result.samples_created} new samples, "
            f"{result.pairs_created} new pairs ({result.pairs_existing} already present)"
        )

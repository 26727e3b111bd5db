"""Queue again an export that failed, was never queued (the broker was down) or whose worker died."""

from django.core.management.base import BaseCommand, CommandError

from common.errors import DomainError
from labeling.exports.models import Export
from labeling.exports.services import export_retry


class Command(BaseCommand):
    help = "Queue an export again: one that failed, that the broker refused (enqueue_failed), or a stalled one."

    def add_arguments(self, parser):
        parser.add_argument("export_id", type=int)

    def handle(self, *args, export_id: int, **options):
        export = Export.objects.filter(id=export_id).first()
        if export is None:
            raise CommandError(f"No export {export_id}.")
        try:
            export = export_retry(export=export)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Export {export.id} is {export.status}; a worker on the default queue runs it.")

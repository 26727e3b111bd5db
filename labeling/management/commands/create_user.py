"""Create a user with a role, for scripted setups: manage.py create_user NAME --role researcher --password ..."""

from django.core.management.base import BaseCommand, CommandError

from common.errors import DomainError
from labeling.models import Role
from labeling.services.accounts import token_create, user_create


class Command(BaseCommand):
    help = "Create a user with a role (labeler, researcher, admin) and print their new API token (shown only once)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", choices=Role.values, default=Role.LABELER)
        parser.add_argument("--password", required=True)
        parser.add_argument("--email", default="")
        parser.add_argument("--project", action="append", default=[], help="Add the user to this project (repeatable).")
        parser.add_argument("--no-token", action="store_true", help="Do not create an API token.")

    def handle(self, *args, username, role, password, email, project, no_token, **options):
        from labeling.models import Project
        from labeling.services.projects import project_add_member

        try:
            projects = [Project.objects.get(slug=slug) for slug in project]
        except Project.DoesNotExist as exc:
            raise CommandError(f"Unknown project among {project}") from exc
        try:
            user = user_create(username=username, password=password, role=role, email=email)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        for p in projects:
            project_add_member(project=p, user=user)
        if no_token:
            self.stdout.write(f"created {role} {username}")
            return
        issued = token_create(user=user)
        expiry = issued.expiry.date().isoformat() if issued.expiry else "never"
        self.stdout.write(
            f"created {role} {username}; API token {issued.key} (expires {expiry}; shown only now, keep it)"
        )

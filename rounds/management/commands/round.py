"""Training rounds from the command line: create, start, cancel, resume, close-labeling, status."""

import getpass
import json
import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from common.errors import DomainError
from labeling.models import Project
from labeling.services.accounts import command_user_resolve
from rounds import selectors
from rounds.services import lifecycle


class Command(BaseCommand):
    help = "Create and drive training rounds (sample → label → reward model → PPO → evaluate)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["create", "start", "cancel", "resume", "close-labeling", "status"])
        parser.add_argument("--project", required=True)
        parser.add_argument("--round", type=int, dest="number", help="Round number (default: the latest).")
        parser.add_argument("--config", dest="round_settings", help="Round settings as JSON, or @file.json.")
        parser.add_argument(
            "--user",
            help="Username recorded as the actor (and the round's exports' creator); default $ARBITER_USER, else "
            "the OS user if an account of that name exists. Status needs no user.",
        )
        parser.add_argument("--reason", default="")
        parser.add_argument("--start", action="store_true", help="With create: start the round at once.")
        parser.add_argument("--json", action="store_true", dest="as_json", help="Print the status as JSON.")

    def handle(self, *args, action, project, number, round_settings, user, reason, start, as_json, **options):
        target = Project.objects.filter(slug=project).first()
        if target is None:
            raise CommandError(f"No project {project!r}.")
        try:
            actor = None
            if action != "status":
                actor = command_user_resolve(
                    username=user, env_username=os.environ.get("ARBITER_USER"), os_username=_os_user()
                )
            if action == "create":
                training_round = lifecycle.round_create(
                    project=target, created_by=actor, settings=_settings(round_settings)
                )
                self.stdout.write(f"Created round {training_round.number} (id {training_round.id}).")
                if start:
                    lifecycle.round_start(training_round=training_round, actor=actor)
                    self.stdout.write("Started; a worker on queues default,gpu runs it.")
                return
            training_round = selectors.round_for(project=target, number=number)
            if action == "start":
                lifecycle.round_start(training_round=training_round, actor=actor)
            elif action == "cancel":
                lifecycle.round_cancel(training_round=training_round, actor=actor, reason=reason)
            elif action == "resume":
                lifecycle.round_resume(training_round=training_round, actor=actor, reason=reason)
            elif action == "close-labeling":
                lifecycle.round_close_labeling(training_round=training_round, actor=actor, reason=reason)
            training_round.refresh_from_db()
            status = selectors.round_status(training_round=training_round)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        if as_json:
            self.stdout.write(json.dumps(status, indent=2, default=str))
            return
        self.stdout.write(
            f"Round {status['number']} of {project}: {status['state']} "
            f"{status['progress']['percent']:.0f}% {status['progress']['message']}"
        )
        for t in status["timeline"]:
            self.stdout.write(f"  {t['at']}  {t['from']} → {t['to']}  by {t['actor'] or 'system'}  {t['reason']}")
        if status["error"]:
            self.stdout.write(self.style.ERROR(f"  error: {status['error']}"))


def _os_user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (a container running as an unnamed uid)
        return None


def _settings(raw: str | None) -> dict:
    if not raw:
        return {}
    text = Path(raw[1:]).read_text(encoding="utf-8") if raw.startswith("@") else raw
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(f"--settings is not valid JSON: {exc.msg} at column {exc.colno}.") from exc
    if not isinstance(value, dict):
        raise CommandError("--settings must be a JSON object.")
    return value

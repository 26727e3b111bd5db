"""Load the demo accounts and projects (idempotent)."""

from django.core.management.base import BaseCommand

from labeling.services.demo import DEMO_PASSWORD, DEMO_USERS, demo_load


class Command(BaseCommand):
    help = "Create demo users (one of each role) and two demo projects from the shipped demo data."

    def handle(self, *args, **options):
        summary = demo_load()
        self.stdout.write(f"demo projects created: {', '.join(summary.projects) or 'none (already there)'}")
        accounts = ", ".join(f"{name} ({role})" for name, role in DEMO_USERS)
        self.stdout.write(f"demo accounts: {accounts}; password: {DEMO_PASSWORD}")

"""Demo: one full training round on the fables with simulated labelers, run in this process; prints wall time per phase."""

import json
import time
from pathlib import Path

from django.conf import settings as django_settings
from django.core.management.base import BaseCommand, CommandError

from common.errors import DomainError
from labeling.models import Project, Role
from labeling.services.accounts import user_create
from labeling.services.imports import prompts_import
from labeling.services.projects import project_create
from rounds.models import RoundState, TrainingRound
from rounds.phases.inline import round_run_inline
from rounds.selectors import round_status
from rounds.services.lifecycle import round_create, round_start
from rounds.simulation import simulated_labelers_run

FABLES = Path(django_settings.BASE_DIR).parent / "shared" / "data" / "fables.jsonl"
# Sized for a 2-core CPU with SmolLM2-135M: short responses, a frozen lower half in the reward model, 4 PPO steps.
DEMO_SETTINGS = {
    "base_model": "smollm2-135m",
    "num_prompts": 16,
    "samples_per_prompt": 2,
    "pairs_per_prompt": 2,
    "heldout_prompts": 8,
    "eval_pairs": 8,
    "max_new_tokens": 40,
    "reward": {"max_length": 384, "batch_size": 8, "num_epochs": 2.0, "learning_rate": 5e-5, "freeze_layers": 20},
    "ppo": {
        "batch_size": 4,
        "mini_batch_size": 4,
        "ppo_epochs": 2,
        "total_episodes": 16,
        "max_prompt_tokens": 320,
        "learning_rate": 1e-5,
        "save_every": 1,
    },
}


class Command(BaseCommand):
    help = (
        "Run one full round (sampling, SIMULATED labeling, reward model, PPO, evaluation) on the fables in this "
        "process, without a worker, and print the wall time of each phase."
    )

    def add_arguments(self, parser):
        parser.add_argument("--project", default="fables-demo")
        parser.add_argument("--model", default="smollm2-135m", help="tiny, smollm2-135m or a model folder.")
        parser.add_argument("--labelers", type=int, default=3)
        parser.add_argument("--noise", type=float, default=0.1)
        parser.add_argument("--config", dest="round_settings", help="JSON overrides of the demo round settings.")

    def handle(self, *args, project, model, labelers, noise, round_settings, **options):
        started = time.monotonic()
        target = Project.objects.filter(slug=project).first()
        if target is None:
            if not FABLES.is_file():
                raise CommandError(f"Fables not found at {FABLES}.")
            owner = user_create(username=f"{project}-researcher", password="demo-password-1", role=Role.RESEARCHER)
            target = project_create(slug=project, created_by=owner, overlap=1, gold_rate=0.0)
            prompts_import(project=target, lines=FABLES.read_bytes().splitlines())
        config = {**DEMO_SETTINGS, "base_model": model, **json.loads(round_settings or "{}")}
        try:
            r = round_create(project=target, created_by=target.created_by, settings=config)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        round_start(training_round=r, actor=target.created_by)
        wall: dict[str, float] = {}

        def label(_round: TrainingRound) -> None:
            report = simulated_labelers_run(project=target, labelers=labelers, noise=noise)
            self.stdout.write(
                f"  SIMULATION: {report.submitted} judgments by {len(report.labelers)} simulated labelers"
            )

        def on_phase(state: str, seconds: float) -> None:
            wall[state] = seconds
            self.stdout.write(f"→ {state}  {seconds:.1f} s")

        r = round_run_inline(round_id=r.id, label=label, task_id=f"demo-{r.id}", on_phase=on_phase)
        status = round_status(training_round=r)
        if r.state != RoundState.DONE:
            raise CommandError(f"The round ended {r.state}: {r.error}")
        self.stdout.write(json.dumps({
            "round": r.number, "model": model, "wall_seconds": {k: round(v, 1) for k, v in wall.items()},
            "total_seconds": round(time.monotonic() - started, 1),
            "reward_model": status["reward_model"]["metrics"], "evaluation": r.metrics.get("evaluation"),
            "ppo_final": (r.metrics.get("ppo") or {}).get("curve", [{}])[-1], "compute_achieved": r.compute_achieved,
        }, indent=2, default=str))  # fmt: skip

"""Oracle experiment: N rounds of the loop in this process, SIMULATED labelers answering by an oracle."""

import json
from pathlib import Path

from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from common.errors import DomainError
from labeling.models import Project
from rounds.experiment.config import ExperimentConfigError, experiment_config_parse
from rounds.experiment.runner import STEPS_PER_ROUND, experiment_project_create, experiment_run

FABLES = Path(django_settings.BASE_DIR) / "tests" / "fixtures" / "fables.jsonl"


class Command(BaseCommand):
    help = (
        "Run N consecutive rounds (sampling, SIMULATED labeling through the labeling API, reward model, PPO or "
        "best-of-n, evaluation) in this process and measure each round with an oracle on held-out prompts: "
        "oracle score, win rates with Wilson intervals, KL, reward-model accuracy on oracle labels, best-of-n."
    )

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True, help="Project slug.")
        parser.add_argument(
            "--create-project", action="store_true",
            help="Create the project from --prompts (JSONL with text and reference, e.g. the fables).",
        )  # fmt: skip
        parser.add_argument("--prompts", type=Path, default=FABLES, help="Prompts file for --create-project.")
        parser.add_argument("--overlap", type=int, default=2, help="Judgments per pair of a created project.")
        parser.add_argument("--rounds", type=int, default=2)
        parser.add_argument("--oracle", default="rouge", help="rouge, or rm:/path/to/gold-reward-model-folder.")
        parser.add_argument("--model", default="tiny", help="tiny, smollm2-135m or a model folder.")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--labelers", type=int, default=3, help="SIMULATED labelers.")
        parser.add_argument("--tau", type=float, default=0.05, help="Labelers' Bradley-Terry temperature.")
        parser.add_argument(
            "--flip-rate", default="0.1", help="Flip probability, one for all or comma-separated per labeler."
        )
        parser.add_argument("--eval-repeats", type=int, default=1, help="Responses per held-out prompt.")
        parser.add_argument("--best-of-n", type=int, default=4, help="n of the best-of-n baseline.")
        parser.add_argument("--bon-kl-samples", type=int, default=4, help="Samples per prompt measuring its KL.")
        parser.add_argument(
            "--round-settings", help="Round settings JSON for every round (--settings is Django's own option)."
        )
        parser.add_argument("--user", help="Username recorded as the experiment's creator (default: the owner).")
        parser.add_argument("--json", dest="json_out", type=Path, help="Write the report here.")
        parser.add_argument("--chart", dest="chart_out", type=Path, help="Write the SVG chart here.")

    def handle(self, *args, **o):
        try:
            flip_rates = [float(x) for x in str(o["flip_rate"]).split(",")]
            round_settings = json.loads(o["round_settings"] or "{}")
        except ValueError as exc:
            raise CommandError(f"--flip-rate must be numbers and --round-settings JSON: {exc}") from exc
        try:
            config = experiment_config_parse({
                "rounds": o["rounds"], "oracle": o["oracle"], "model": o["model"], "seed": o["seed"],
                "labelers": o["labelers"], "tau": o["tau"], "flip_rates": flip_rates,
                "eval_repeats": o["eval_repeats"], "best_of_n": o["best_of_n"], "bon_kl_samples": o["bon_kl_samples"],
                "round_settings": round_settings,
            })  # fmt: skip
        except ExperimentConfigError as exc:
            raise CommandError(str(exc)) from exc
        try:
            if o["create_project"]:
                project = experiment_project_create(slug=o["project"], prompts_path=o["prompts"], overlap=o["overlap"])
            else:
                found = Project.objects.filter(slug=o["project"]).first()
                if found is None:
                    raise CommandError(f"No project {o['project']!r}; add --create-project to make it.")
                project = found
            user = project.created_by
            if o["user"]:
                user = get_user_model().objects.filter(username=o["user"]).first()
                if user is None:
                    raise CommandError(f"No user {o['user']!r}.")
            bar = tqdm(total=config.rounds * STEPS_PER_ROUND + 1, desc="experiment", unit="step")

            def step(message: str) -> None:
                bar.set_postfix_str(message)
                bar.update(1)

            try:
                experiment = experiment_run(
                    project=project, config=config, created_by=user, json_out=o["json_out"],
                    chart_out=o["chart_out"], step=step,
                )  # fmt: skip
            finally:
                bar.close()
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"SIMULATION: experiment {experiment.id} on {project.slug} is {experiment.status}.")
        for row in experiment.report["rounds"]:
            p, b = row["policy_eval"], row["best_of_n"]
            w, bw = p["win_rate_vs_initial"], b["win_rate_vs_initial"]
            self.stdout.write(
                f"round {row['round']}: oracle {p['oracle_score']:+.3f} (initial "
                f"{experiment.report['initial']['oracle_score']:+.3f}), win vs initial {_rate(w)}, "
                f"KL {_num(p['kl_to_initial'])}; best-of-{b['n']} oracle {b['oracle_score']:+.3f}, win {_rate(bw)}, "
                f"KL {_num(b['kl_analytic'])} analytic / {_num(b['kl_measured'])} measured"
            )


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _rate(rate: dict) -> str:
    if rate["value"] is None:
        return "n/a"
    return f"{rate['value']:.2f} [{rate['low']:.2f}, {rate['high']:.2f}] n={rate['n']}"

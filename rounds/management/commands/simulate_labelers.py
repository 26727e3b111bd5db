"""SIMULATION: N simulated labelers (users sim-labeler-<i>) judge a project's pairs through the labeling API."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from labeling.models import Project
from labeling.services.agreement_report import agreement_report_build
from rounds.models import RoundState, TrainingRound
from rounds.phases.labeling import round_labeling_check
from rounds.simulation import Oracle, reward_model_oracle, simulated_labelers_run


class Command(BaseCommand):
    help = (
        "SIMULATION for demos and tests: simulated labelers (usernames sim-labeler-N) take pairs and submit "
        "judgments through the real labeling API (token auth), answering by an oracle with noise."
    )

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True)
        parser.add_argument("--labelers", type=int, default=3)
        parser.add_argument("--noise", type=float, default=0.1, help="Probability of flipping the oracle's answer.")
        parser.add_argument("--oracle", choices=["shorter", "reward-model"], default="shorter")
        parser.add_argument("--reward-model", type=Path, help="Reward model folder for --oracle reward-model.")
        parser.add_argument("--limit", type=int, help="Stop after this many judgments.")
        parser.add_argument("--url", help="Base URL of a running server (default: in-process API client).")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, project, labelers, noise, oracle, reward_model, limit, url, seed, **options):
        target = Project.objects.filter(slug=project).first()
        if target is None:
            raise CommandError(f"No project {project!r}.")
        if oracle == "reward-model":
            if reward_model is None or not (reward_model / "config.json").is_file():
                raise CommandError("--oracle reward-model needs --reward-model DIR, a trained reward model folder.")
            judge: str | Oracle = reward_model_oracle(reward_model)
        else:
            judge = "shorter"
        bar = tqdm(total=limit, desc="simulated judgments", unit="judgment")
        try:
            report = simulated_labelers_run(
                project=target, labelers=labelers, noise=noise, oracle=judge, limit=limit, base_url=url, seed=seed,
                on_submit=lambda n: bar.update(1),
            )  # fmt: skip
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            bar.close()
        if not url:
            # In-process there may be no worker polling: move any labeling round whose target is met.
            for round_id in TrainingRound.objects.filter(project=target, state=RoundState.LABELING).values_list(
                "id", flat=True
            ):
                round_labeling_check(round_id=round_id)
        # The same agreement code as for human labelers: simulated ones get no special treatment.
        agreement = agreement_report_build(project=target, n_resamples=0)
        for row in agreement.labelers:
            if row.username in report.labelers:
                self.stdout.write(
                    f"  {row.username}: {row.n_judgments} judgments, agreement with others {row.agreement}"
                )
        self.stdout.write(
            f"SIMULATION: {report.submitted} judgments by {', '.join(report.labelers)} "
            f"(oracle {oracle}, noise {noise}, {report.flipped} flipped)."
        )

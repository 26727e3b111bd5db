"""Run an oracle experiment: N consecutive rounds of the real loop in this process (round_run_inline), SIMULATED
labelers answering by the oracle through the labeling API, and the measurements after each round, stored on an
Experiment row (and written to files) round by round."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from common import clock
from common.errors import DomainError
from labeling.models import PolicyKind, Project, Role, Sample
from labeling.services.accounts import user_create
from labeling.services.imports import prompts_import
from labeling.services.projects import project_create
from rounds import ml_bridge
from rounds.config import round_settings_parse
from rounds.experiment.chart import experiment_chart_svg
from rounds.experiment.config import ExperimentConfig
from rounds.experiment.measure import INITIAL_SEED_OFFSET, HeldOut, Responses, policy_responses, round_measure
from rounds.experiment.oracle import Oracle, RewardModelOracle, RougeOracle, oracle_preference, oracle_spec_check
from rounds.models import Experiment, ExperimentStatus, RoundState, TrainingRound
from rounds.phases.base import prompts_split
from rounds.phases.inline import round_run_inline
from rounds.services.lifecycle import round_create, round_start
from rounds.simulation import simulated_labelers_run

Step = Callable[[str], None]
STEPS_PER_ROUND = 9
"""Steps reported per round: create, 5 phases with labeling, 3 measurements (and once the initial policy's)."""


class ExperimentError(DomainError):
    """The experiment cannot start or a round did not finish; the message says why."""


def experiment_project_create(*, slug: str, prompts_path: Path, overlap: int) -> Project:
    """A project for experiments with the prompts (and human references) of a JSONL file, owned by a new
    researcher `<slug>-researcher`; overlap ≥ 2 lets the round's labeler agreement be measured."""
    if Project.objects.filter(slug=slug).exists():
        raise ExperimentError(f"Project {slug!r} exists already; leave out --create-project to use it.")
    if not prompts_path.is_file():
        raise ExperimentError(f"No prompts file at {prompts_path}.")
    with transaction.atomic():
        owner = User.objects.filter(username=f"{slug}-researcher").first() or user_create(
            username=f"{slug}-researcher", password=secrets.token_urlsafe(16), role=Role.RESEARCHER
        )
        project = project_create(slug=slug, created_by=owner, overlap=overlap, gold_rate=0.0)
        prompts_import(project=project, lines=prompts_path.read_bytes().splitlines())
    return project


def _references(project: Project) -> dict[str, str]:
    """Prompt text → the human reference sample's text (the first, if a prompt has several)."""
    refs: dict[str, str] = {}
    for prompt, text in (
        Sample.objects.filter(prompt__project=project, policy__kind=PolicyKind.HUMAN_REFERENCE)
        .order_by("id")
        .values_list("prompt__text", "text")
    ):
        refs.setdefault(prompt, text)
    return refs


def oracle_build(*, spec: str, project: Project) -> Oracle:
    kind, folder = oracle_spec_check(spec)
    if kind == "rouge":
        refs = _references(project)
        if not refs:
            raise ExperimentError(f"The rouge oracle needs human references; project {project.slug} has none.")
        return RougeOracle(references=refs)
    assert folder is not None
    return RewardModelOracle(folder=folder, scorer=ml_bridge.reward_scorer(reward_model=folder))


def _check(*, project: Project, config: ExperimentConfig, oracle: Oracle) -> None:
    if project.overlap > config.labelers:
        raise ExperimentError(
            f"Project {project.slug} wants {project.overlap} judgments per pair but there are only "
            f"{config.labelers} simulated labelers; use --labelers {project.overlap} or more."
        )
    settings = round_settings_parse(config.round_settings, instruction_template=project.instruction_template)
    _, held = prompts_split(project=project, settings=settings)
    if not held:
        raise ExperimentError(f"Project {project.slug} has too few prompts to hold {settings.heldout_prompts} out.")
    if isinstance(oracle, RougeOracle):
        missing = [p for p in held if p.text not in oracle.references]
        if missing:
            raise ExperimentError(f"Held-out prompt {missing[0].id} has no human reference for the rouge oracle.")


def _save(experiment: Experiment, report: dict[str, Any], *, json_out: Path | None, chart_out: Path | None) -> None:
    experiment.report = report
    experiment.chart_svg = experiment_chart_svg(report)
    experiment.save(update_fields=["report", "chart_svg", "status", "error", "finished_at"])
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    if chart_out is not None:
        chart_out.parent.mkdir(parents=True, exist_ok=True)
        chart_out.write_text(experiment.chart_svg, encoding="utf-8")


def _prefixed(say: Step, prefix: str) -> Step:
    return lambda message: say(prefix + message)


def _phase_reporter(tell: Step) -> Callable[[str, float], None]:
    return lambda state, seconds: tell(f"{state} {seconds:.0f} s")


def experiment_run(
    *,
    project: Project,
    config: ExperimentConfig,
    created_by: User | None,
    json_out: Path | None = None,
    chart_out: Path | None = None,
    step: Step | None = None,
) -> Experiment:
    """Run the experiment's rounds one after another and measure each; the report (and the files, if given)
    are rewritten after every round. A round that does not finish marks the experiment failed, keeping the
    rounds measured before it, and raises ExperimentError."""
    say: Step = step or (lambda message: None)
    oracle = oracle_build(spec=config.oracle, project=project)
    _check(project=project, config=config, oracle=oracle)
    experiment = Experiment.objects.create(project=project, created_by=created_by, settings=config.to_dict())
    report: dict[str, Any] = {
        "experiment_id": experiment.id, "project": project.slug, "simulated": True,
        "labelers": f"{config.labelers} SIMULATED labelers (sim-labeler-1..{config.labelers}), "
        f"Bradley-Terry tau {config.tau}, flip rates {config.labeler_flip_rates()}",
        "oracle": config.oracle, "model": config.model, "seed": config.seed, "settings": config.to_dict(),
        "started_at": clock.now().isoformat(), "initial": None, "rounds": [], "notes": [],
    }  # fmt: skip
    if isinstance(oracle, RougeOracle):
        report["notes"].append(
            "The rouge oracle scores the human reference itself at its maximum (ROUGE-L 1 to itself), so win "
            "rates against the reference measure how often a response ties it, not a preference."
        )
    round_settings = {**config.round_settings, "base_model": config.model, "seed": config.seed}
    prefer = oracle_preference(oracle)
    initial: Responses | None = None
    held: HeldOut | None = None
    reference_scores: list[float | None] = []
    try:
        for index in range(1, config.rounds + 1):
            tell = _prefixed(say, f"round {index}/{config.rounds}: ")
            tell("created")
            r = round_create(project=project, created_by=created_by, settings=round_settings)
            round_start(training_round=r, actor=created_by)
            simulation: dict[str, int] = {"submitted": 0, "flipped": 0}

            def label(training_round: TrainingRound, simulation: dict[str, int] = simulation) -> None:
                result = simulated_labelers_run(
                    project=project, labelers=config.labelers, noise=config.labeler_flip_rates(), tau=config.tau,
                    oracle=prefer, seed=config.seed * 1_000 + training_round.number,
                )  # fmt: skip
                simulation["submitted"] += result.submitted
                simulation["flipped"] += result.flipped

            r = round_run_inline(
                round_id=r.id, label=label, task_id=f"experiment-{experiment.id}-{r.id}",
                on_phase=_phase_reporter(tell),
            )  # fmt: skip
            if r.state != RoundState.DONE:
                raise ExperimentError(f"Round {r.number} ended {r.state}: {r.error}")
            settings = ml_bridge.round_settings(r)
            if held is None or initial is None:
                _, held_prompts = prompts_split(project=project, settings=settings)
                refs = _references(project)
                rows = [p.text for p in held_prompts] * config.eval_repeats
                held = HeldOut(prompts=rows, references=[refs.get(p) for p in rows])
                tell("measuring the initial policy")
                assert r.reward_model is not None
                initial, _ = policy_responses(
                    settings=settings, policy=r.initial_policy, initial=r.initial_policy,
                    reward_model=Path(r.reward_model.artifact_path), held=held, oracle=oracle,
                    seed_offset=INITIAL_SEED_OFFSET,
                )  # fmt: skip
                with_ref = [(p, t) for p, t in zip(held.prompts, held.references, strict=True) if t is not None]
                scored = iter(oracle.score([p for p, _ in with_ref], [t for _, t in with_ref]))
                reference_scores = [next(scored) if t is not None else None for t in held.references]
                known = [s for s in reference_scores if s is not None]
                report["initial"] = {
                    **initial.summary(), "policy": r.initial_policy.name, "held_out_prompts": len(held_prompts),
                    "rows": len(rows), "reference_oracle_score": sum(known) / len(known) if known else None,
                }  # fmt: skip
            metrics = round_measure(
                training_round=r, settings=settings, held=held, oracle=oracle, initial=initial,
                reference_scores=reference_scores, best_of_n=config.best_of_n, bon_kl_samples=config.bon_kl_samples,
                step=tell,
            )  # fmt: skip
            metrics["simulation"] = simulation
            report["rounds"].append(metrics)
            _save(experiment, report, json_out=json_out, chart_out=chart_out)
    except Exception as exc:
        experiment.status, experiment.error, experiment.finished_at = ExperimentStatus.FAILED, str(exc), clock.now()
        report["error"] = f"{type(exc).__name__}: {exc}"
        _save(experiment, report, json_out=json_out, chart_out=chart_out)
        if isinstance(exc, DomainError):
            raise
        raise ExperimentError(f"The experiment stopped: {type(exc).__name__}: {exc}") from exc
    experiment.status, experiment.finished_at = ExperimentStatus.DONE, clock.now()
    report["finished_at"] = experiment.finished_at.isoformat()
    _save(experiment, report, json_out=json_out, chart_out=chart_out)
    return experiment

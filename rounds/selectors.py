"""Read-side of training rounds: status for the API, command and page; human win rate of evaluation pairs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from common.errors import NotFound
from labeling.models import Comparison, Project
from rounds.models import TrainingRound


def round_for(*, project: Project, number: int | None) -> TrainingRound:
    rounds = TrainingRound.objects.filter(project=project)
    found = rounds.filter(number=number).first() if number is not None else rounds.order_by("-number").first()
    if found is None:
        which = f"round {number}" if number is not None else "training round"
        raise NotFound(f"No {which} in project {project.slug}.")
    return found


def win_rate(*, training_round: TrainingRound) -> dict[str, Any]:
    """Humans' judgments of new-vs-previous policy pairs: wins of the new policy (ties count half) with a
    Wilson 95% interval on the decisive judgments; both-bad judgments are left out."""
    from labeling.stats.intervals import wilson_interval

    new_id = training_round.new_policy_id
    wins = losses = ties = 0
    rows = Comparison.objects.filter(
        pair__project_id=training_round.project_id, pair__batch=training_round.eval_batch, is_current=True
    ).values_list("choice", "pair__sample_a__policy_id")
    for choice, policy_a in rows:
        if choice == "tie":
            ties += 1
        elif choice in ("a", "b"):
            new_won = (choice == "a") == (policy_a == new_id)
            wins, losses = (wins + 1, losses) if new_won else (wins, losses + 1)
    n = wins + losses + ties
    # Ties count half a win in both the rate and its interval.
    low, high = wilson_interval(wins + 0.5 * ties, n) if n else (None, None)
    return {"wins": wins, "losses": losses, "ties": ties, "n": n,
            "rate": (wins + 0.5 * ties) / n if n else None, "ci95": [low, high] if n else None}  # fmt: skip


def round_timeline(*, training_round: TrainingRound) -> list[dict[str, Any]]:
    return [
        {
            "at": t.created_at.isoformat(),
            "from": t.from_state,
            "to": t.to_state,
            "actor": t.actor.username if t.actor else None,
            "reason": t.reason,
        }
        for t in training_round.transitions.select_related("actor")
    ]


def round_status(*, training_round: TrainingRound) -> dict[str, Any]:
    from rounds.phases.labeling import round_comparisons

    r = training_round
    rm = r.reward_model
    return {
        "id": r.id, "project": r.project.slug, "number": r.number, "state": r.state, "failed_in": r.failed_in,
        "error": r.error, "settings": r.settings,
        "waiting_for_worker": bool(r.enqueue_error), "enqueue_error": r.enqueue_error,
        "progress": {"percent": r.progress_percent, "message": r.progress_message,
                     "eta_seconds": r.progress_eta_seconds,
                     "updated_at": r.progress_updated_at.isoformat() if r.progress_updated_at else None},
        "comparisons": {"done": round_comparisons(training_round=r), "target": r.comparisons_target},
        "policy": {"id": r.policy_id, "name": r.policy.name},
        "initial_policy": {"id": r.initial_policy_id, "name": r.initial_policy.name},
        "new_policy": ({"id": r.new_policy_id, "name": r.new_policy.name, "artifact_path": r.new_policy.artifact_path,
                        "parent": r.new_policy.parent_id} if r.new_policy else None),
        "reward_model": ({"id": rm.id, "name": rm.name, "artifact_path": rm.artifact_path, "metrics": rm.metrics.get("heldout"),
                          "export_id": rm.export_id, "export_manifest_hash": rm.export_manifest_hash,
                          "parent_policy": rm.parent_policy_id} if rm else None),
        "compute_estimate": r.compute_estimate, "compute_achieved": r.compute_achieved,
        "phase_seconds": r.phase_seconds, "metrics": r.metrics, "win_rate": win_rate(training_round=r),
        "timeline": round_timeline(training_round=r), "artifact_dir": r.artifact_dir,
        "created_at": r.created_at.isoformat(),
        "started_at": r.started_at.isoformat() if r.started_at else None,
        "finished_at": r.finished_at.isoformat() if r.finished_at else None,
    }  # fmt: skip


def _last(curve: list[dict[str, Any]], key: str) -> float | None:
    values = [c.get(key) for c in curve if c.get(key) is not None]
    return values[-1] if values else None


def rounds_trend(*, project: Project) -> list[dict[str, Any]]:
    """Every round of the project in order, with the figures that show whether the loop improves: reward-model
    held-out accuracy (95% CI), PPO's last-step score and KL, the held-out evaluation and the human win rate."""
    rows = []
    for r in TrainingRound.objects.filter(project=project).select_related("reward_model").order_by("number"):
        heldout = (r.reward_model.metrics.get("heldout") if r.reward_model else None) or {}
        curve = (r.metrics.get("ppo") or {}).get("curve") or []
        evaluation = r.metrics.get("evaluation") or {}
        rows.append({
            "number": r.number, "state": r.state,
            "rm_accuracy": heldout.get("accuracy"), "rm_ci95": heldout.get("ci95"), "rm_n": heldout.get("n"),
            "ppo_score": _last(curve, "score"), "ppo_kl": _last(curve, "kl"),
            "eval_score_new": evaluation.get("rm_score_new"), "eval_score_previous": evaluation.get("rm_score_previous"),
            "eval_kl_previous": evaluation.get("kl_vs_previous"),
            "win_rate": win_rate(training_round=r) if r.new_policy_id else None,
        })  # fmt: skip
    return rows


SAMPLE_ORDERS = {
    "difference": lambda row: -row["difference"],
    "-difference": lambda row: row["difference"],
    "prompt": lambda row: row["index"],
}
"""Orders of the evaluation samples: largest new-minus-previous score first, smallest first, prompt order."""
SAMPLE_ORDER_LABELS = {
    "difference": "largest gain first",
    "-difference": "largest loss first",
    "prompt": "prompt order",
}


def round_evaluation_samples(*, training_round: TrainingRound, order: str = "difference") -> list[dict[str, Any]]:
    """The evaluation's held-out prompts with both policies' responses and reward-model scores, each row with
    its score difference (new − previous); [] before evaluation or for a round evaluated before they were
    kept. An unknown `order` is NotFound."""
    if order not in SAMPLE_ORDERS:
        raise NotFound(f"Unknown order {order!r}; choose one of {', '.join(SAMPLE_ORDERS)}.")
    path = (training_round.metrics.get("evaluation") or {}).get("samples_file")
    if not path or not Path(path).is_file():
        return []
    rows = json.loads(Path(path).read_text(encoding="utf-8"))["rows"]
    for index, row in enumerate(rows):
        row["index"] = index
        row["difference"] = row["new"]["score"] - row["previous"]["score"]
    return sorted(rows, key=SAMPLE_ORDERS[order])


LOG_VIEW_LINES = 200


def round_launches(*, training_round: TrainingRound) -> list[dict[str, Any]]:
    """The round's launched child processes in launch order, each with its command as one shell line."""
    import shlex

    rows = []
    for phase, entries in (training_round.launches or {}).items():
        for index, entry in enumerate(entries):
            rows.append({**entry, "phase": phase, "index": index, "command_line": shlex.join(entry.get("command", []))})
    return sorted(rows, key=lambda row: row.get("started_at") or "")


def launch_log(*, training_round: TrainingRound, phase: str, index: int, lines: int = LOG_VIEW_LINES) -> str:
    """The last `lines` lines of one launch's log; NotFound for a launch the round does not have."""
    from training.launch import log_tail

    entries = (training_round.launches or {}).get(phase) or []
    if not 0 <= index < len(entries):
        raise NotFound(f"Round {training_round.number} has no launch {index} in {phase}.")
    return log_tail(entries[index]["log"], lines=lines)

"""The round state machine: the only place a round's state changes, each change recorded with who/when/why."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction

from common import clock
from common.errors import Conflict, NotFound
from labeling.services.enqueue import task_send_on_commit
from rounds.models import RoundState, RoundTransition, TrainingRound

S = RoundState
PHASES = (S.SAMPLING, S.LABELING, S.REWARD_TRAINING, S.POLICY_OPTIMIZATION, S.EVALUATION)
TERMINAL = (S.DONE, S.CANCELLED)
NEXT_PHASE: dict[str, RoundState] = {
    S.CREATED: S.SAMPLING,
    S.SAMPLING: S.LABELING,
    S.LABELING: S.REWARD_TRAINING,
    S.REWARD_TRAINING: S.POLICY_OPTIMIZATION,
    S.POLICY_OPTIMIZATION: S.EVALUATION,
    S.EVALUATION: S.DONE,
}
ALLOWED: dict[str, frozenset[str]] = {
    S.CREATED: frozenset({S.SAMPLING, S.CANCELLED}),
    **{phase: frozenset({NEXT_PHASE[phase], S.FAILED, S.CANCELLED}) for phase in PHASES},
    # A failed round resumes in the phase it failed in (checked against failed_in) or is given up.
    S.FAILED: frozenset({*PHASES, S.CANCELLED}),
    S.DONE: frozenset(),
    S.CANCELLED: frozenset(),
}


def transition_allowed(from_state: str, to_state: str) -> bool:
    return to_state in ALLOWED.get(from_state, frozenset())


def round_lock(*, round_id: int) -> TrainingRound:
    """The round's row, locked until the surrounding transaction ends."""
    found = TrainingRound.objects.select_for_update().filter(id=round_id).first()
    if found is None:
        raise NotFound(f"No training round {round_id}.")
    return found


def _enqueue_phase(training_round: TrainingRound) -> None:
    """Queue the phase's task after commit; an unreachable broker leaves the round waiting for a worker
    (`enqueue_error`) and raises BrokerUnavailable (503)."""
    from rounds import tasks  # tasks import services; importing here avoids the cycle

    task = tasks.PHASE_TASKS.get(training_round.state)
    if task is not None:
        round_id, state = training_round.id, training_round.state

        def mark(reason: str) -> None:
            TrainingRound.objects.filter(id=round_id, state=state).update(enqueue_error=reason)

        task_send_on_commit(task=task, args=(round_id,), what=f"the {state} task of round {round_id}", on_failure=mark)


def round_transition(
    *,
    round_id: int,
    to_state: str,
    actor: User | None = None,
    reason: str = "",
    expected_from: str | None = None,
    error: str = "",
) -> TrainingRound:
    """Move a round to `to_state` if the table allows it, record the move, and queue the new phase's task
    once the transaction commits. `expected_from` guards a worker against acting on a round that someone
    cancelled meanwhile (Conflict). Locks the round's row."""
    with transaction.atomic():
        training_round = round_lock(round_id=round_id)
        current = training_round.state
        if expected_from is not None and current != expected_from:
            raise Conflict(f"Round {training_round.number} is {current}, not {expected_from}; nothing changed.")
        if not transition_allowed(current, to_state):
            raise Conflict(f"A round cannot go from {current} to {to_state}.")
        if current == S.FAILED and to_state != S.CANCELLED and to_state != training_round.failed_in:
            raise Conflict(f"This round failed in {training_round.failed_in}; it can only resume there.")
        now = clock.now()
        training_round.state = to_state
        training_round.running_task_id = ""
        training_round.enqueue_error = ""
        training_round.progress_percent = 0.0
        training_round.progress_message = ""
        training_round.progress_eta_seconds = None
        training_round.progress_updated_at = now
        if to_state == S.FAILED:
            training_round.failed_in = current
            training_round.error = error or reason
        elif current == S.FAILED:
            training_round.error = ""
        if current == S.CREATED and to_state == S.SAMPLING:
            training_round.started_at = now
        if to_state in TERMINAL:
            training_round.finished_at = now
        training_round.save()
        RoundTransition.objects.create(
            round=training_round, from_state=current, to_state=to_state, actor=actor, reason=reason, created_at=now
        )
        _enqueue_phase(training_round)
    return training_round


def round_requeue(*, round_id: int, actor: User | None = None, reason: str = "") -> TrainingRound:
    """Queue the task of the round's current phase again (e.g. its worker was killed): the phase resumes
    from its last checkpoint. A failed round moves back to the phase it failed in first."""
    with transaction.atomic():
        training_round = round_lock(round_id=round_id)
        if training_round.state == S.FAILED:
            return round_transition(
                round_id=round_id, to_state=training_round.failed_in, actor=actor, reason=reason or "resumed"
            )
        if training_round.state not in PHASES:
            raise Conflict(f"Round {training_round.number} is {training_round.state}; there is nothing to resume.")
        # Forget the old task so the new one is not mistaken for a duplicate of a live run; the heartbeat restarts
        # now, so a second resume or sweeper sees a queued phase, not a stalled one.
        training_round.running_task_id = ""
        training_round.enqueue_error = ""
        training_round.progress_updated_at = clock.now()
        training_round.save(update_fields=["running_task_id", "enqueue_error", "progress_updated_at"])
        RoundTransition.objects.create(
            round=training_round,
            from_state=training_round.state,
            to_state=training_round.state,
            actor=actor,
            reason=reason or "resumed",
            created_at=clock.now(),
        )
        _enqueue_phase(training_round)
    return training_round

"""Training rounds, their recorded state transitions, and the reward-model registry."""

from django.conf import settings as django_settings
from django.db import models

from labeling.models import Policy, Project


class RoundState(models.TextChoices):
    CREATED = "created", "Created"
    SAMPLING = "sampling", "Sampling"
    LABELING = "labeling", "Labeling"
    REWARD_TRAINING = "reward_training", "Reward training"
    POLICY_OPTIMIZATION = "policy_optimization", "Policy optimisation"
    EVALUATION = "evaluation", "Evaluation"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class TrainingRound(models.Model):
    """One pass of the loop of Stiennon et al. 2020 for a project. State changes only through services."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="training_rounds")
    number = models.PositiveIntegerField()
    state = models.CharField(max_length=24, choices=RoundState.choices, default=RoundState.CREATED)
    # The phase a failed round stopped in, so `resume` knows where to pick up.
    failed_in = models.CharField(max_length=24, blank=True)
    error = models.TextField(blank=True)
    settings = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The policy sampled as "current"; the initial (SFT) policy anchors pair mixes and the PPO KL penalty.
    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="rounds_sampled")
    initial_policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="+")
    new_policy = models.ForeignKey(
        Policy, null=True, blank=True, on_delete=models.SET_NULL, related_name="rounds_produced"
    )
    reward_model = models.ForeignKey(
        "RewardModel", null=True, blank=True, on_delete=models.SET_NULL, related_name="rounds_trained"
    )
    comparisons_target = models.PositiveIntegerField(default=0)
    artifact_dir = models.CharField(max_length=500, blank=True)
    # Live progress of the running phase, written by the worker.
    progress_percent = models.FloatField(default=0.0)
    progress_message = models.CharField(max_length=300, blank=True)
    progress_eta_seconds = models.FloatField(null=True, blank=True)
    progress_updated_at = models.DateTimeField(null=True, blank=True)
    # Which Celery task runs the phase now; a redelivered message has the same id and may continue.
    # progress_updated_at doubles as the phase's heartbeat: set when its task is queued, claimed, and at each
    # progress report; the sweeper re-queues a phase whose heartbeat is older than ROUND_STALE_SECONDS.
    running_task_id = models.CharField(max_length=80, blank=True)
    # Set when the phase's task could not be queued (broker unreachable): the round waits for a worker;
    # `resume` or the sweeper queues it again.
    enqueue_error = models.TextField(blank=True)
    compute_estimate = models.JSONField(default=dict, blank=True)
    compute_achieved = models.JSONField(default=dict, blank=True)
    phase_seconds = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    # The child processes each ML phase launched, by phase: a list of {name, command, config, log, pid,
    # returncode, started_at, finished_at}, one per launch (a resumed phase adds to its list).
    launches = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["project", "number"]
        constraints = [models.UniqueConstraint(fields=["project", "number"], name="round_number_unique")]

    def __str__(self) -> str:
        return f"{self.project.slug} round {self.number}"

    # Pair batches are named by the round's number within its project, the number users see and type
    # (`round --round N`, `export_preferences --round N`); batches are per project.
    @property
    def batch(self) -> str:
        return f"round-{self.number}"

    @property
    def eval_batch(self) -> str:
        return f"round-{self.number}-eval"


class RoundTransition(models.Model):
    """Who moved a round from one state to another, when, and why (the round page's timeline)."""

    round = models.ForeignKey(TrainingRound, on_delete=models.CASCADE, related_name="transitions")
    from_state = models.CharField(max_length=24, choices=RoundState.choices)
    to_state = models.CharField(max_length=24, choices=RoundState.choices)
    # Null when the system (a worker) made the move.
    actor = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]


class RewardModel(models.Model):
    """A trained reward model with its lineage: which policy it grew from and which comparisons taught it."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="reward_models")
    name = models.CharField(max_length=120)
    training_round = models.ForeignKey(
        TrainingRound, null=True, blank=True, on_delete=models.SET_NULL, related_name="reward_models"
    )
    parent_policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="reward_models")
    export = models.ForeignKey(
        "exports.Export", null=True, blank=True, on_delete=models.SET_NULL, related_name="reward_models"
    )
    export_manifest_hash = models.CharField(max_length=64, blank=True)
    export_path = models.CharField(max_length=500, blank=True)
    config = models.JSONField(default=dict)
    metrics = models.JSONField(default=dict, blank=True)
    artifact_path = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="reward_model_unique_name")]

    def __str__(self) -> str:
        return self.name


class ExperimentStatus(models.TextChoices):
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Experiment(models.Model):
    """An oracle experiment: several rounds of the loop with SIMULATED labelers, measured by an oracle after
    each round. The report grows round by round, so a stopped run keeps what it measured."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="experiments")
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=12, choices=ExperimentStatus.choices, default=ExperimentStatus.RUNNING)
    error = models.TextField(blank=True)
    settings = models.JSONField(default=dict)
    report = models.JSONField(default=dict, blank=True)
    chart_svg = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.project.slug} experiment {self.id}"

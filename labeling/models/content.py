"""What labelers judge: prompts, the policies that answer them, samples, and pairs of samples."""

from django.db import models

from .projects import Project


class Prompt(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="prompts")
    text = models.TextField()
    metadata = models.JSONField(default=dict, blank=True)
    content_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["project", "content_hash"], name="prompt_unique_content")]

    def __str__(self) -> str:
        return self.text[:60]


class PolicyKind(models.TextChoices):
    INITIAL = "initial", "Initial / SFT policy"
    TRAINED = "trained", "Trained policy"
    HUMAN_REFERENCE = "human_reference", "Human reference"
    BASELINE = "baseline", "Baseline"
    IMPORTED = "imported", "Imported"


class Policy(models.Model):
    """A named producer of outputs: a model version, human references, or a baseline."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="policies")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=24, choices=PolicyKind.choices, default=PolicyKind.IMPORTED)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    artifact_path = models.CharField(max_length=500, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "policies"
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="policy_unique_name")]

    def __str__(self) -> str:
        return self.name


class Sample(models.Model):
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="samples")
    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="samples")
    text = models.TextField()
    content_hash = models.CharField(max_length=64)
    generation_params = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["prompt", "policy", "content_hash"], name="sample_unique_content")
        ]


class Pair(models.Model):
    """Two samples of one prompt in canonical order (sample_a, sample_b); display order varies per assignment."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="pairs")
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="pairs")
    sample_a = models.ForeignKey(Sample, on_delete=models.PROTECT, related_name="+")
    sample_b = models.ForeignKey(Sample, on_delete=models.PROTECT, related_name="+")
    batch = models.CharField(max_length=80, blank=True, db_index=True)
    is_gold = models.BooleanField(default=False)
    # Canonical answer of a gold pair: "a", "b" or "tie". Never shown to labelers.
    gold_choice = models.CharField(max_length=8, blank=True)
    # Denormalised counters kept under the pair's row lock; they make assignment one indexed query.
    submitted_count = models.PositiveIntegerField(default=0)
    leased_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "sample_a", "sample_b"], name="pair_unique_samples"),
            models.CheckConstraint(condition=~models.Q(sample_a=models.F("sample_b")), name="pair_distinct_samples"),
        ]
        indexes = [
            models.Index(fields=["project", "is_gold", "-submitted_count", "-leased_count", "id"], name="pair_queue"),
        ]

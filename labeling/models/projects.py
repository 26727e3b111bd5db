"""Projects, their members, and researchers' exclusions of labelers."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class Project(models.Model):
    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    instructions = models.TextField(blank=True, help_text="Markdown shown to labelers.")
    content_warning = models.TextField(
        blank=True, help_text="Shown once to each labeler before their first pair (e.g. red-team data); empty: none."
    )
    allow_tie = models.BooleanField(default=True)
    allow_both_bad = models.BooleanField(default=True)
    # Stiennon et al. 2020: 1 = A much better, 9 = B much better.
    confidence_min = models.PositiveSmallIntegerField(default=1)
    confidence_max = models.PositiveSmallIntegerField(default=9)
    overlap = models.PositiveSmallIntegerField(default=3, validators=[MinValueValidator(1), MaxValueValidator(50)])
    lease_seconds = models.PositiveIntegerField(default=900, validators=[MinValueValidator(10)])
    gold_rate = models.FloatField(default=0.1, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)])
    review_threshold = models.FloatField(
        default=0.70, help_text="Labelers whose agreement with consensus falls below this are marked for review."
    )
    instruction_template = models.TextField(
        default="Summarise the following text in one sentence.\n\n{text}",
        help_text="How a prompt's text is presented to a policy when sampling.",
    )
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="ProjectMembership", related_name="projects")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Set instead of deleting a project whose judgments must be kept: it hands out no new pairs; exports stay.
    archived_at = models.DateTimeField(null=True, blank=True)
    archived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["slug"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(confidence_min__lt=models.F("confidence_max")), name="project_confidence_range"
            ),
        ]

    def __str__(self) -> str:
        return self.slug

    @property
    def confidence_midpoint(self) -> float:
        return (self.confidence_min + self.confidence_max) / 2


class ProjectMembership(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    joined_at = models.DateTimeField(auto_now_add=True)
    content_warning_acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="membership_unique")]


class LabelerExclusion(models.Model):
    """A labeler's judgments left out of exports and training; lifting it keeps the record."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="exclusions")
    # PROTECT: a labeler with a record is deactivated, never deleted (see services.accounts.user_deactivate).
    labeler = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="exclusions")
    reason = models.TextField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    lifted_at = models.DateTimeField(null=True, blank=True)
    lift_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "labeler"],
                condition=models.Q(lifted_at__isnull=True),
                name="one_active_exclusion_per_labeler",
            )
        ]

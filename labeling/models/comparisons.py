"""Leases of pairs to labelers, their judgments (immutable, revised by new rows) and flags."""

from django.conf import settings
from django.db import models

from labeling.stats import choices as canonical

from .content import Pair


class AssignmentStatus(models.TextChoices):
    OPEN = "open", "Open"
    SUBMITTED = "submitted", "Submitted"
    SKIPPED = "skipped", "Skipped"
    FLAGGED = "flagged", "Flagged"
    EXPIRED = "expired", "Expired"


class Assignment(models.Model):
    """A lease of a pair to one labeler. A labeler is never handed the same pair twice."""

    pair = models.ForeignKey(Pair, on_delete=models.CASCADE, related_name="assignments")
    # PROTECT: deleting a labeler would leave the pair's leased_count raised for good; deactivate them instead.
    labeler = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assignments")
    status = models.CharField(max_length=12, choices=AssignmentStatus.choices, default=AssignmentStatus.OPEN)
    # True when sample_b was shown on the left as "A".
    swapped = models.BooleanField()
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["pair", "labeler"], name="assignment_once_per_labeler")]
        indexes = [
            models.Index(fields=["labeler", "status"], name="assignment_labeler_status"),
            models.Index(fields=["status", "expires_at"], name="assignment_expiry"),
        ]


class Choice(models.TextChoices):
    """The choices of labeling.stats.choices, with their labels for forms and the admin."""

    A = canonical.A, "A better"
    B = canonical.B, "B better"
    TIE = canonical.TIE, "Tie"
    BOTH_BAD = canonical.BOTH_BAD, "Both bad"


class Comparison(models.Model):
    """A submitted judgment in the pair's canonical order. Never updated: a revision is a new row."""

    assignment = models.ForeignKey(Assignment, on_delete=models.PROTECT, related_name="comparisons")
    pair = models.ForeignKey(Pair, on_delete=models.PROTECT, related_name="comparisons")
    labeler = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="comparisons")
    choice = models.CharField(max_length=8, choices=Choice.choices)
    # What the labeler pressed, relative to what they saw.
    shown_choice = models.CharField(max_length=8, choices=Choice.choices)
    # Canonical confidence on the project's scale (low = sample_a better); null when the scale is not used.
    confidence = models.PositiveSmallIntegerField(null=True, blank=True)
    shown_confidence = models.PositiveSmallIntegerField(null=True, blank=True)
    rationale = models.TextField(blank=True)
    time_spent_ms = models.PositiveIntegerField(default=0)
    revision = models.PositiveIntegerField(default=1)
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )
    is_current = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["pair", "labeler"], condition=models.Q(is_current=True), name="one_current_comparison"
            ),
            models.UniqueConstraint(fields=["assignment", "revision"], name="comparison_revision_unique"),
        ]
        indexes = [models.Index(fields=["pair", "is_current"], name="comparison_pair_current")]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Comparisons are immutable; submit a revision instead")
        super().save(*args, **kwargs)


class FlagReason(models.TextChoices):
    OFFENSIVE = "offensive", "Offensive"
    BROKEN = "broken", "Broken"
    DUPLICATE = "duplicate", "Duplicate"
    OTHER = "other", "Other"


class FlagResolution(models.TextChoices):
    DISMISSED = "dismissed", "Dismissed: the pair is fine"
    EXCLUDED = "excluded", "Excluded: the pair stays out of exports"


class PairFlag(models.Model):
    pair = models.ForeignKey(Pair, on_delete=models.CASCADE, related_name="flags")
    # PROTECT: deleting the flagger must not put the flagged pair back into exports.
    labeler = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="flags")
    reason = models.CharField(max_length=16, choices=FlagReason.choices)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField()
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    # How a researcher resolved it: dismissed (the pair is fine) or excluded (kept out of exports for good).
    resolution = models.CharField(max_length=16, choices=FlagResolution.choices, blank=True)
    resolution_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]

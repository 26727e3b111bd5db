"""What the workspace script needs to know about a project: the allowed choices and the confidence scale."""

from __future__ import annotations

from django.urls import reverse

from labeling.models import FlagReason, Project


def confidence_labels(*, low: int, high: int) -> dict[int, str]:
    """Scale labels relative to the display: low values favour the left output (A), high the right (B)."""
    mid = (low + high) / 2
    labels = {}
    for value in range(low, high + 1):
        if value == mid:
            labels[value] = "Equal"
            continue
        side = "A" if value < mid else "B"
        distance = abs(value - mid)
        share = distance / (mid - low)
        if share >= 1:
            strength = "much better"
        elif share >= 0.7:
            strength = "better"
        elif share >= 0.4:
            strength = "somewhat better"
        else:
            strength = "slightly better"
        labels[value] = f"{side} {strength}"
    return labels


def workspace_config(*, project: Project, content_warning_pending: bool = False) -> dict:
    return {
        "slug": project.slug,
        "contentWarningPending": content_warning_pending,
        "allowTie": project.allow_tie,
        "allowBothBad": project.allow_both_bad,
        "confidenceMin": project.confidence_min,
        "confidenceMax": project.confidence_max,
        "confidenceLabels": {
            str(k): v for k, v in confidence_labels(low=project.confidence_min, high=project.confidence_max).items()
        },
        "flagReasons": [{"value": value, "label": label} for value, label in FlagReason.choices],
        "urls": {
            "next": reverse("api-next", kwargs={"slug": project.slug}),
            "progress": reverse("api-progress", kwargs={"slug": project.slug}),
            "submit": reverse("api-submit", kwargs={"assignment_id": 0}),
            "skip": reverse("api-skip", kwargs={"assignment_id": 0}),
            "flag": reverse("api-flag", kwargs={"assignment_id": 0}),
            "revise": reverse("api-comparison-revise", kwargs={"comparison_id": 0}),
            "recent": reverse("api-my-judgments", kwargs={"slug": project.slug}),
            "release": reverse("api-release"),
            "contentWarningAck": reverse("api-content-warning-ack", kwargs={"slug": project.slug}),
        },
    }

"""Input and output shapes of the labeling API. Serializers only validate and render; services write."""

from __future__ import annotations

from rest_framework import serializers

from labeling.models import Assignment, Choice, Comparison, FlagReason, Project
from labeling.services.projects import PROJECT_FIELDS


class ProjectSerializer(serializers.ModelSerializer):
    class Meta:
        model = Project
        fields = ["slug", *PROJECT_FIELDS, "created_at"]
        read_only_fields = ["created_at"]


class ProjectCreateSerializer(ProjectSerializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)


class MemberAddSerializer(serializers.Serializer):
    username = serializers.CharField()


class ImportResultSerializer(serializers.Serializer):
    lines = serializers.IntegerField()
    prompts_created = serializers.IntegerField()
    samples_created = serializers.IntegerField()
    pairs_created = serializers.IntegerField()
    pairs_existing = serializers.IntegerField()


class NextPairInputSerializer(serializers.Serializer):
    exclude = serializers.ListField(child=serializers.IntegerField(), required=False, default=list, max_length=20)


def shown_texts(assignment: Assignment) -> tuple[str, str]:
    pair = assignment.pair
    a, b = pair.sample_a.text, pair.sample_b.text
    return (b, a) if assignment.swapped else (a, b)


class LabelerAssignmentSerializer(serializers.Serializer):
    """What a labeler sees: no policies, no gold marker, no canonical order."""

    assignment_id = serializers.IntegerField(source="id")
    expires_at = serializers.DateTimeField()
    prompt = serializers.SerializerMethodField()
    response_left = serializers.SerializerMethodField()
    response_right = serializers.SerializerMethodField()

    def get_prompt(self, obj: Assignment) -> str:
        return obj.pair.prompt.text

    def get_response_left(self, obj: Assignment) -> str:
        return shown_texts(obj)[0]

    def get_response_right(self, obj: Assignment) -> str:
        return shown_texts(obj)[1]


class JudgmentSerializer(serializers.Serializer):
    choice = serializers.ChoiceField(choices=Choice.choices)
    confidence = serializers.IntegerField(required=False, allow_null=True, default=None)
    rationale = serializers.CharField(required=False, allow_blank=True, default="", max_length=10_000)
    time_spent_ms = serializers.IntegerField(required=False, default=0, min_value=0)
    flag_reason = serializers.ChoiceField(choices=FlagReason.choices, required=False, allow_blank=True, default="")
    flag_note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2_000)


class FlagSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=FlagReason.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2_000)


class ComparisonSerializer(serializers.ModelSerializer):
    project = serializers.CharField(source="pair.project.slug")
    labeler = serializers.CharField(source="labeler.username")
    swapped = serializers.BooleanField(source="assignment.swapped")

    class Meta:
        model = Comparison
        fields = [
            "id",
            "project",
            "pair",
            "labeler",
            "choice",
            "shown_choice",
            "confidence",
            "shown_confidence",
            "swapped",
            "rationale",
            "time_spent_ms",
            "revision",
            "supersedes",
            "is_current",
            "created_at",
        ]


class PairSerializer(serializers.Serializer):
    """A pair as researchers see it: canonical order, policies, gold answer."""

    id = serializers.IntegerField()
    prompt = serializers.CharField(source="prompt.text")
    response_a = serializers.CharField(source="sample_a.text")
    response_b = serializers.CharField(source="sample_b.text")
    policy_a = serializers.CharField(source="sample_a.policy.name")
    policy_b = serializers.CharField(source="sample_b.policy.name")
    batch = serializers.CharField()
    is_gold = serializers.BooleanField()
    gold_choice = serializers.CharField()
    submitted_count = serializers.IntegerField()

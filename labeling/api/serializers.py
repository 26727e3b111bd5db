"""Input and output shapes of the labeling API. Serializers only validate and render; services write."""

from __future__ import annotations

from rest_framework import serializers

from labeling.models import Assignment, Choice, Comparison, FlagReason, Project, Role
from labeling.services.judgment_history import shown_texts
from labeling.services.projects import PROJECT_FIELDS


class ProjectSerializer(serializers.ModelSerializer):
    archived = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = ["slug", *PROJECT_FIELDS, "created_at", "archived", "archived_at"]
        read_only_fields = ["created_at", "archived_at"]

    def get_archived(self, obj: Project) -> bool:
        return obj.archived_at is not None


# Settings that would tell a labeler how they are watched (gold share, review bar) or how outputs were produced.
LABELER_HIDDEN_PROJECT_FIELDS = ("gold_rate", "review_threshold", "instruction_template")


class ProjectForRoleSerializer(ProjectSerializer):
    """Documentation of GET /projects/: researchers get every field; labelers not the quality settings
    (LABELER_HIDDEN_PROJECT_FIELDS), `created_at` or `archived_at`."""

    created_at = serializers.DateTimeField(required=False, help_text="Researchers only.")
    archived = serializers.BooleanField()
    archived_at = serializers.DateTimeField(required=False, allow_null=True, help_text="Researchers only.")

    class Meta(ProjectSerializer.Meta):
        read_only_fields = []
        extra_kwargs = {name: {"help_text": "Researchers only."} for name in LABELER_HIDDEN_PROJECT_FIELDS}


class LabelerProjectSerializer(serializers.ModelSerializer):
    """A project as a labeler sees it: how to judge, not how they are checked."""

    archived = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = ["slug", *(f for f in PROJECT_FIELDS if f not in LABELER_HIDDEN_PROJECT_FIELDS), "archived"]
        read_only_fields = fields

    def get_archived(self, obj: Project) -> bool:
        return obj.archived_at is not None


class ProjectCreateSerializer(ProjectSerializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    role = serializers.ChoiceField(choices=Role.choices)


class TokenSerializer(serializers.Serializer):
    """An API token as listed: its first characters name it; the key itself is never shown again."""

    token_key = serializers.CharField()
    created = serializers.DateTimeField()
    expiry = serializers.DateTimeField(allow_null=True)


class NewTokenSerializer(TokenSerializer):
    key = serializers.CharField(help_text="Send as `Authorization: Token <key>`. Shown only in this answer.")


class MemberAddSerializer(serializers.Serializer):
    username = serializers.CharField()


class MemberAddedSerializer(serializers.Serializer):
    project = serializers.CharField()
    username = serializers.CharField()


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A JSONL file (or .jsonl.gz), one record per line.")
    skip_invalid = serializers.BooleanField(required=False, help_text="Import the valid lines, report the rest.")
    gold = serializers.BooleanField(required=False, help_text="Pairs: HH-RLHF preference becomes a gold answer.")


class ImportLinesSerializer(serializers.Serializer):
    lines = serializers.ListField(child=serializers.CharField(allow_blank=True), help_text="JSONL lines.")
    skip_invalid = serializers.BooleanField(required=False)
    gold = serializers.BooleanField(required=False)


class LineErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    field = serializers.CharField()
    message = serializers.CharField()


class ImportResultSerializer(serializers.Serializer):
    lines = serializers.IntegerField()
    prompts_created = serializers.IntegerField()
    samples_created = serializers.IntegerField()
    pairs_created = serializers.IntegerField()
    pairs_existing = serializers.IntegerField()
    skipped = LineErrorSerializer(many=True, source="details.skipped", default=list)


class NextPairInputSerializer(serializers.Serializer):
    exclude = serializers.ListField(child=serializers.IntegerField(), required=False, default=list, max_length=20)


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
        return shown_texts(obj.pair, swapped=obj.swapped)[0]

    def get_response_right(self, obj: Assignment) -> str:
        return shown_texts(obj.pair, swapped=obj.swapped)[1]


class JudgmentSerializer(serializers.Serializer):
    choice = serializers.ChoiceField(choices=Choice.choices)
    confidence = serializers.IntegerField(required=False, allow_null=True, default=None)
    rationale = serializers.CharField(required=False, allow_blank=True, default="", max_length=10_000)
    time_spent_ms = serializers.IntegerField(required=False, default=0, min_value=0)
    flag_reason = serializers.ChoiceField(choices=FlagReason.choices, required=False, allow_blank=True, default="")
    flag_note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2_000)


class SubmitSerializer(JudgmentSerializer):
    """A judgment, optionally asking for the next pair (and the labeler's counts) in the same answer."""

    next = NextPairInputSerializer(
        required=False,
        help_text="Send it (may be `{}`) to get the next assignment in this answer, with the rules of "
        "POST /projects/{slug}/next/ in the lease's project; `exclude` lists leases the client already holds.",
    )
    progress = serializers.BooleanField(
        required=False,
        default=False,
        help_text="With `next`: also return the labeler's counts (GET .../progress/ `me`).",
    )


class RefusalSerializer(serializers.Serializer):
    """Why no next assignment came: the error the next-pair endpoint would have answered."""

    code = serializers.ChoiceField(choices=["queue_empty", "too_many_leases", "project_archived", "not_found"])
    detail = serializers.CharField()


class FlagSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=FlagReason.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2_000)


class SubmittedSerializer(serializers.Serializer):
    comparison_id = serializers.IntegerField(source="id")
    revision = serializers.IntegerField()


class FlaggedSerializer(serializers.Serializer):
    flag_id = serializers.IntegerField(source="id")


class LabelerProgressSerializer(serializers.Serializer):
    done_today = serializers.IntegerField()
    done_in_project = serializers.IntegerField()
    remaining = serializers.IntegerField()


class SubmittedWithNextSerializer(SubmittedSerializer):
    """The stored judgment; with `next` asked for, the next assignment or `next_refusal` (never both)."""

    next = LabelerAssignmentSerializer(
        required=False, allow_null=True, help_text="Present when asked for; null when refused."
    )
    next_refusal = RefusalSerializer(required=False, help_text="Present when `next` is null.")
    progress = LabelerProgressSerializer(required=False, help_text="Present when asked for.")


class ProgressSerializer(serializers.Serializer):
    """`me` for everyone; `project` and `labelers` only for researchers."""

    me = LabelerProgressSerializer()
    project = serializers.DictField(required=False)
    labelers = serializers.ListField(child=serializers.DictField(), required=False)


class ComparisonSerializer(serializers.ModelSerializer):
    """A comparison as researchers see it: canonical and as shown, with the display order."""

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


class LabelerComparisonSerializer(serializers.ModelSerializer):
    """A labeler's own judgment only as it was shown to them: left/right texts and what they pressed.

    No canonical choice or confidence, no display order, no pair id (it would link judgments across labelers).
    """

    project = serializers.CharField(source="pair.project.slug")
    assignment_id = serializers.IntegerField(source="assignment.id")
    prompt = serializers.CharField(source="pair.prompt.text")
    response_left = serializers.SerializerMethodField()
    response_right = serializers.SerializerMethodField()

    class Meta:
        model = Comparison
        fields = [
            "id",
            "project",
            "assignment_id",
            "prompt",
            "response_left",
            "response_right",
            "shown_choice",
            "shown_confidence",
            "rationale",
            "time_spent_ms",
            "revision",
            "supersedes",
            "is_current",
            "created_at",
        ]

    def get_response_left(self, obj: Comparison) -> str:
        return shown_texts(obj.assignment.pair, swapped=obj.assignment.swapped)[0]

    def get_response_right(self, obj: Comparison) -> str:
        return shown_texts(obj.assignment.pair, swapped=obj.assignment.swapped)[1]


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

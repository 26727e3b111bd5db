"""REST API of training rounds: thin views over the lifecycle services and the status selector."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api.permissions import IsResearcher
from labeling.services.projects import project_get_for_user
from rounds import selectors
from rounds.models import RoundState, TrainingRound
from rounds.phases.labeling import round_labeling_check
from rounds.services import lifecycle


class RoundCreateSerializer(serializers.Serializer):
    settings = serializers.DictField(required=False, default=dict)
    start = serializers.BooleanField(required=False, default=False)


class RoundActionSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


def _summary(r: TrainingRound) -> dict:
    return {"id": r.id, "number": r.number, "state": r.state, "progress_percent": r.progress_percent,
            "policy": r.policy.name, "new_policy": r.new_policy.name if r.new_policy else None,
            "created_at": r.created_at.isoformat()}  # fmt: skip


_ROUND_SUMMARY_LIST = inline_serializer(
    "RoundSummary",
    {
        "id": serializers.IntegerField(),
        "number": serializers.IntegerField(),
        "state": serializers.CharField(),
        "progress_percent": serializers.FloatField(),
        "policy": serializers.CharField(),
        "new_policy": serializers.CharField(allow_null=True),
        "created_at": serializers.DateTimeField(),
    },
    many=True,
)


class RoundListView(APIView):
    permission_classes = [IsResearcher]

    @extend_schema(operation_id="rounds_list", responses=_ROUND_SUMMARY_LIST)
    def get(self, request, slug: str):
        project = project_get_for_user(slug=slug, user=request.user, manage=True)
        rounds = (
            TrainingRound.objects.filter(project=project).select_related("policy", "new_policy").order_by("-number")
        )
        return Response([_summary(r) for r in rounds])

    @extend_schema(operation_id="rounds_create", request=RoundCreateSerializer, responses={201: OpenApiTypes.OBJECT})
    def post(self, request, slug: str):
        project = project_get_for_user(slug=slug, user=request.user, manage=True)
        data = RoundCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        r = lifecycle.round_create(project=project, created_by=request.user, settings=data.validated_data["settings"])
        if data.validated_data["start"]:
            r = lifecycle.round_start(training_round=r, actor=request.user)
        return Response(selectors.round_status(training_round=r), status=status.HTTP_201_CREATED)


class RoundDetailView(APIView):
    permission_classes = [IsResearcher]

    @extend_schema(operation_id="rounds_retrieve", responses=OpenApiTypes.OBJECT)
    def get(self, request, slug: str, number: int):
        project = project_get_for_user(slug=slug, user=request.user, manage=True)
        r = selectors.round_for(project=project, number=number)
        if r.state == RoundState.LABELING and round_labeling_check(round_id=r.id):
            r.refresh_from_db()  # the page's polling doubles as the labeling-target check
        return Response(selectors.round_status(training_round=r))


class RoundActionView(APIView):
    permission_classes = [IsResearcher]
    action = "start"
    ACTIONS = {
        "start": lambda r, user, reason: lifecycle.round_start(training_round=r, actor=user),
        "cancel": lambda r, user, reason: lifecycle.round_cancel(training_round=r, actor=user, reason=reason),
        "resume": lambda r, user, reason: lifecycle.round_resume(training_round=r, actor=user, reason=reason),
        "close-labeling": lambda r, user, reason: lifecycle.round_close_labeling(
            training_round=r, actor=user, reason=reason
        ),
    }

    @extend_schema(
        request=RoundActionSerializer,
        responses={
            200: OpenApiTypes.OBJECT,
            409: OpenApiResponse(OpenApiTypes.OBJECT, description="Not allowed in the round's state, or its phase "
                                 "is queued or running (resume is for a failed or stalled phase)."),
            503: OpenApiResponse(OpenApiTypes.OBJECT, description="The task queue is unreachable: the round is kept, "
                                 "waiting for a worker (`waiting_for_worker`); resume to queue it again."),
        },
    )  # fmt: skip
    def post(self, request, slug: str, number: int):
        project = project_get_for_user(slug=slug, user=request.user, manage=True)
        data = RoundActionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        r = selectors.round_for(project=project, number=number)
        r = self.ACTIONS[self.action](r, request.user, data.validated_data["reason"])
        return Response(selectors.round_status(training_round=r))

"""Researcher API for agreement: the project report and labeler exclusions (labelers get 403)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from common.errors import DomainError, NotFound
from labeling.models import LabelerExclusion
from labeling.services import exclusions, projects
from labeling.services.agreement_report import DEFAULT_RESAMPLES, agreement_report_build

from .permissions import IsResearcher


class ReportQuerySerializer(serializers.Serializer):
    resamples = serializers.IntegerField(min_value=0, max_value=10_000, default=DEFAULT_RESAMPLES)
    seed = serializers.IntegerField(min_value=0, default=0)
    split_limit = serializers.IntegerField(min_value=0, max_value=10_000, default=50)


class ExclusionInputSerializer(serializers.Serializer):
    username = serializers.CharField(required=False)
    labeler_id = serializers.IntegerField(required=False)
    reason = serializers.CharField(allow_blank=True, default="")

    def validate(self, attrs):
        if not attrs.get("username") and attrs.get("labeler_id") is None:
            raise serializers.ValidationError("Give the labeler's username or labeler_id.")
        return attrs


class ExclusionSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="labeler.username")
    created_by = serializers.CharField(source="created_by.username")
    lifted_by = serializers.CharField(source="lifted_by.username", default=None, allow_null=True)
    active = serializers.SerializerMethodField()

    class Meta:
        model = LabelerExclusion
        fields = [
            "id",
            "labeler",
            "username",
            "reason",
            "created_by",
            "created_at",
            "lifted_by",
            "lifted_at",
            "lift_reason",
            "active",
        ]

    def get_active(self, obj) -> bool:
        return obj.lifted_at is None


def _labeler(data: dict):
    users = get_user_model().objects
    user = (
        users.filter(username=data["username"]).first()
        if data.get("username")
        else users.filter(id=data["labeler_id"]).first()
    )
    if user is None:
        raise NotFound(f"No user {data.get('username') or data.get('labeler_id')!r}.")
    return user


class AgreementReportView(APIView):
    permission_classes = [IsResearcher]

    @extend_schema(parameters=[ReportQuerySerializer], responses={200: dict})
    def get(self, request, slug: str):
        project = projects.project_get_for_user(slug=slug, user=request.user, manage=True)
        query = ReportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        report = agreement_report_build(
            project=project,
            n_resamples=query.validated_data["resamples"],
            seed=query.validated_data["seed"],
            split_limit=query.validated_data["split_limit"],
        )
        return Response(report.as_dict())


class ExclusionListView(APIView):
    permission_classes = [IsResearcher]

    @extend_schema(
        parameters=[OpenApiParameter("active", bool, description="Only exclusions not lifted.")],
        responses=ExclusionSerializer(many=True),
    )
    def get(self, request, slug: str):
        project = projects.project_get_for_user(slug=slug, user=request.user, manage=True)
        active_only = request.query_params.get("active") in {"1", "true", "yes"}
        rows = exclusions.exclusions_list(project=project, include_lifted=not active_only)
        return Response(ExclusionSerializer(rows, many=True).data)

    @extend_schema(request=ExclusionInputSerializer, responses={201: ExclusionSerializer})
    def post(self, request, slug: str):
        project = projects.project_get_for_user(slug=slug, user=request.user, manage=True)
        data = ExclusionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        exclusion = exclusions.labeler_exclude(
            project=project,
            labeler=_labeler(data.validated_data),
            reason=data.validated_data["reason"],
            excluded_by=request.user,
        )
        return Response(ExclusionSerializer(exclusion).data, status=status.HTTP_201_CREATED)


class ExclusionLiftView(APIView):
    permission_classes = [IsResearcher]

    @extend_schema(request=ExclusionInputSerializer, responses=ExclusionSerializer)
    def post(self, request, slug: str):
        project = projects.project_get_for_user(slug=slug, user=request.user, manage=True)
        data = ExclusionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if not data.validated_data["reason"].strip():
            raise DomainError("Give a reason for lifting the exclusion; it is kept with the record.")
        exclusion = exclusions.labeler_exclusion_lift(
            project=project,
            labeler=_labeler(data.validated_data),
            reason=data.validated_data["reason"],
            lifted_by=request.user,
        )
        return Response(ExclusionSerializer(exclusion).data)

"""Thin API views the labeler workspace needs beyond next/submit: own recent judgments, lease release, warnings."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.services import assignment as assignment_services
from labeling.services import content_warnings, judgment_history, projects


class ShownJudgmentSerializer(serializers.Serializer):
    """A labeler's judgment in their own frame: texts in display order, the shown choice; nothing canonical."""

    comparison_id = serializers.IntegerField()
    revision = serializers.IntegerField()
    submitted_at = serializers.DateTimeField()
    revised_at = serializers.DateTimeField()
    prompt = serializers.CharField()
    response_left = serializers.CharField()
    response_right = serializers.CharField()
    shown_choice = serializers.CharField()
    shown_confidence = serializers.IntegerField(allow_null=True)
    rationale = serializers.CharField(allow_blank=True)


class ReleaseInputSerializer(serializers.Serializer):
    assignment = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1, max_length=20)


class MyRecentJudgmentsView(APIView):
    @extend_schema(responses=ShownJudgmentSerializer(many=True))
    def get(self, request, slug: str):
        project = projects.project_get_for_user(slug=slug, user=request.user)
        recent = judgment_history.judgments_recent_of(project=project, labeler=request.user)
        return Response(ShownJudgmentSerializer(recent, many=True).data)


class ReleaseLeasesView(APIView):
    """Called by navigator.sendBeacon when the workspace tab goes away: a form body with the CSRF token."""

    parser_classes = [FormParser, MultiPartParser, JSONParser]

    @extend_schema(request=ReleaseInputSerializer, responses={200: None})
    def post(self, request):
        ids = request.data.getlist("assignment") if hasattr(request.data, "getlist") else request.data.get("assignment")
        data = ReleaseInputSerializer(data={"assignment": ids})
        data.is_valid(raise_exception=True)
        released = assignment_services.assignments_release_mine(
            labeler=request.user, assignment_ids=tuple(data.validated_data["assignment"])
        )
        return Response({"released": released}, status=status.HTTP_200_OK)


class ContentWarningAckView(APIView):
    @extend_schema(request=None, responses={204: None})
    def post(self, request, slug: str):
        project = projects.project_get_for_user(slug=slug, user=request.user)
        content_warnings.content_warning_acknowledge(project=project, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

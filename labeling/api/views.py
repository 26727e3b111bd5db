"""Thin API views: parse, call one service, render."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework import status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from common.errors import DomainError, NotFound
from labeling import selectors
from labeling.models import Pair
from labeling.services import assignment as assignment_services
from labeling.services import imports, judgments, projects
from labeling.services.accounts import is_researcher, token_create, token_revoke, tokens_of, user_role

from . import serializers as s
from .permissions import IsResearcher


class MeView(APIView):
    """Who is logged in. Never an API token: a token is shown once, when POST /api/v1/tokens/ creates it."""

    @extend_schema(responses=s.MeSerializer)
    def get(self, request):
        return Response(s.MeSerializer({"username": request.user.username, "role": user_role(request.user)}).data)


class TokenListView(APIView):
    """The caller's API tokens: list them (never their keys), or create one (its key is in this answer only)."""

    @extend_schema(responses=s.TokenSerializer(many=True))
    def get(self, request):
        return Response(s.TokenSerializer(tokens_of(user=request.user), many=True).data)

    @extend_schema(request=None, responses={201: s.NewTokenSerializer})
    def post(self, request):
        issued = token_create(user=request.user)
        return Response(s.NewTokenSerializer(issued).data, status=status.HTTP_201_CREATED)


class TokenRevokeView(APIView):
    @extend_schema(request=None, responses={204: None})
    def delete(self, request, token_key: str):
        token_revoke(user=request.user, token_key=token_key)
        return Response(status=status.HTTP_204_NO_CONTENT)


def project_serializer_for(user):
    """Researchers see every project setting; labelers not the quality settings that watch them."""
    return s.ProjectSerializer if is_researcher(user) else s.LabelerProjectSerializer


class ProjectListView(APIView):
    def get_permissions(self):
        return [IsResearcher()] if self.request.method == "POST" else [IsAuthenticated()]

    @extend_schema(responses=s.ProjectForRoleSerializer(many=True))
    def get(self, request):
        serializer = project_serializer_for(request.user)
        return Response(serializer(projects.projects_visible_to(request.user), many=True).data)

    @extend_schema(request=s.ProjectCreateSerializer, responses={201: s.ProjectSerializer})
    def post(self, request):
        data = s.ProjectCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = {k: v for k, v in data.validated_data.items() if k != "slug"}
        project = projects.project_create(slug=data.validated_data["slug"], created_by=request.user, **fields)
        return Response(s.ProjectSerializer(project).data, status=status.HTTP_201_CREATED)


class ProjectDetailView(APIView):
    @extend_schema(responses=s.ProjectForRoleSerializer)
    def get(self, request, slug: str):
        project = projects.project_get_for_user(slug=slug, user=request.user)
        return Response(project_serializer_for(request.user)(project).data)


class ProjectArchiveView(APIView):
    """Archive a project (no new pairs are handed out; judgments and exports are kept), or unarchive it."""

    permission_classes = [IsResearcher]
    archive = True

    @extend_schema(request=None, responses=s.ProjectSerializer)
    def post(self, request, slug: str):
        project = projects.project_get_for_user(slug=slug, user=request.user, manage=True)
        if self.archive:
            project = projects.project_archive(project=project, archived_by=request.user)
        else:
            project = projects.project_unarchive(project=project)
        return Response(s.ProjectSerializer(project).data)


class ProjectMembersView(APIView):
    permission_classes = [IsResearcher]

    @extend_schema(request=s.MemberAddSerializer, responses={201: s.MemberAddedSerializer})
    def post(self, request, slug: str):
        project = projects.project_get_for_user(slug=slug, user=request.user, manage=True)
        data = s.MemberAddSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = get_user_model().objects.filter(username=data.validated_data["username"]).first()
        if user is None:
            raise NotFound(f"No user {data.validated_data['username']!r}.")
        projects.project_add_member(project=project, user=user)
        body = s.MemberAddedSerializer({"project": project.slug, "username": user.username}).data
        return Response(body, status=status.HTTP_201_CREATED)


def _upload_lines(request) -> list[bytes]:
    upload = request.FILES.get("file")
    if upload is not None:
        data = upload.read()
        if data[:2] == b"\x1f\x8b":
            data = imports.gunzip_upload(data)
        return data.splitlines()
    lines = request.data.get("lines") if hasattr(request.data, "get") else None
    if isinstance(lines, list):
        return [line.encode() if isinstance(line, str) else b"" for line in lines]
    raise DomainError("Send a JSONL file as multipart field 'file', or a JSON body {\"lines\": [...]}.")


def _flag(request, name: str) -> bool:
    value = request.query_params.get(name, request.data.get(name, "") if hasattr(request.data, "get") else "")
    return str(value).lower() in {"1", "true", "yes"}


class ImportView(APIView):
    permission_classes = [IsResearcher]
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    kind = "pairs"

    @extend_schema(
        request={
            "multipart/form-data": s.ImportUploadSerializer,
            "application/json": s.ImportLinesSerializer,
        },
        responses={201: s.ImportResultSerializer},
    )
    def post(self, request, slug: str):
        project = projects.project_get_for_user(slug=slug, user=request.user, manage=True)
        lines = _upload_lines(request)
        skip_invalid = _flag(request, "skip_invalid")
        if self.kind == "prompts":
            result = imports.prompts_import(project=project, lines=lines, skip_invalid=skip_invalid)
        else:
            result = imports.pairs_import(
                project=project, lines=lines, gold=_flag(request, "gold"), skip_invalid=skip_invalid
            )
        return Response(s.ImportResultSerializer(result).data, status=status.HTTP_201_CREATED)


class NextPairView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=s.NextPairInputSerializer, responses=s.LabelerAssignmentSerializer)
    def post(self, request, slug: str):
        project = projects.project_get_for_user(slug=slug, user=request.user)
        data = s.NextPairInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        assignment = assignment_services.assignment_next(
            project=project, labeler=request.user, exclude_ids=tuple(data.validated_data["exclude"])
        )
        return Response(s.LabelerAssignmentSerializer(assignment).data)


class SubmitView(APIView):
    @extend_schema(
        request=s.SubmitSerializer,
        responses={201: s.SubmittedWithNextSerializer},
        description="Store a judgment. With `next` in the body the answer also carries the next assignment "
        "(one round trip per judgment); POST /projects/{slug}/next/ stays for the first pair and for resuming.",
    )
    def post(self, request, assignment_id: int):
        data = s.SubmitSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        wants_next, wants_progress = fields.pop("next", None), fields.pop("progress")
        judgment = judgments.Judgment(**fields)
        if wants_next is None:
            comparison = judgments.comparison_submit(
                assignment_id=assignment_id, labeler=request.user, judgment=judgment
            )
            body = s.SubmittedSerializer(comparison).data
        else:
            done = judgments.comparison_submit_and_next(
                assignment_id=assignment_id,
                labeler=request.user,
                judgment=judgment,
                exclude_ids=tuple(wants_next["exclude"]),
            )
            body = submitted_with_next_body(done, labeler=request.user, progress=wants_progress)
        return Response(body, status=status.HTTP_201_CREATED)


def submitted_with_next_body(done: judgments.SubmittedWithNext, *, labeler, progress: bool) -> dict:
    body = dict(s.SubmittedSerializer(done.comparison).data)
    body["next"] = s.LabelerAssignmentSerializer(done.next).data if done.next is not None else None
    if done.next_refusal is not None:
        body["next_refusal"] = {"code": done.next_refusal.code, "detail": done.next_refusal.message}
    if progress:
        body["progress"] = vars(selectors.labeler_progress(project=done.project, labeler=labeler))
    return body


class SkipView(APIView):
    @extend_schema(request=None, responses={204: None})
    def post(self, request, assignment_id: int):
        judgments.assignment_skip(assignment_id=assignment_id, labeler=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class FlagView(APIView):
    @extend_schema(request=s.FlagSerializer, responses={201: s.FlaggedSerializer})
    def post(self, request, assignment_id: int):
        data = s.FlagSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        flag = judgments.assignment_flag(assignment_id=assignment_id, labeler=request.user, **data.validated_data)
        return Response({"flag_id": flag.id}, status=status.HTTP_201_CREATED)


def _comparison_schema(*, many: bool = False) -> PolymorphicProxySerializer:
    return PolymorphicProxySerializer(
        component_name="ComparisonForRole",
        serializers=[s.ComparisonSerializer, s.LabelerComparisonSerializer],
        resource_type_field_name=None,
        many=many,
    )


_COMPARISON_SCHEMA = _comparison_schema()
_COMPARISON_SCHEMA_LIST = _comparison_schema(many=True)


def comparison_serializer_for(user):
    """Researchers see canonical and shown judgments; a labeler their own only as shown to them."""
    return s.ComparisonSerializer if is_researcher(user) else s.LabelerComparisonSerializer


def _comparisons(user):
    return selectors.comparisons_visible_to(user=user).select_related(
        "assignment", "pair__prompt", "pair__sample_a", "pair__sample_b"
    )


class ComparisonListView(APIView):
    pagination_class = LimitOffsetPagination

    @extend_schema(
        parameters=[
            OpenApiParameter("project", str, description="Only this project's comparisons (its slug)."),
            OpenApiParameter("all_revisions", bool, description="Also superseded revisions."),
        ],
        responses=_COMPARISON_SCHEMA_LIST,
    )
    def get(self, request):
        qs = _comparisons(request.user)
        if slug := request.query_params.get("project"):
            qs = qs.filter(pair__project__slug=slug)
        if request.query_params.get("all_revisions") not in {"1", "true"}:
            qs = qs.filter(is_current=True)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(comparison_serializer_for(request.user)(page, many=True).data)


class ComparisonDetailView(APIView):
    @extend_schema(responses=_COMPARISON_SCHEMA)
    def get(self, request, comparison_id: int):
        comparison = _comparisons(request.user).filter(id=comparison_id).first()
        if comparison is None:
            raise NotFound("No such comparison visible to you.")
        return Response(comparison_serializer_for(request.user)(comparison).data)


class ComparisonReviseView(APIView):
    @extend_schema(request=s.JudgmentSerializer, responses={201: _COMPARISON_SCHEMA})
    def post(self, request, comparison_id: int):
        data = s.JudgmentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        revision = judgments.comparison_revise(
            comparison_id=comparison_id, labeler=request.user, judgment=judgments.Judgment(**data.validated_data)
        )
        revision = _comparisons(request.user).get(id=revision.id)
        return Response(comparison_serializer_for(request.user)(revision).data, status=status.HTTP_201_CREATED)


class ProjectProgressView(APIView):
    @extend_schema(responses=s.ProgressSerializer)
    def get(self, request, slug: str):
        project = projects.project_get_for_user(slug=slug, user=request.user)
        mine = selectors.labeler_progress(project=project, labeler=request.user)
        body = {"me": vars(mine)}
        if is_researcher(request.user):
            body["project"] = selectors.project_progress(project=project).as_dict()
            body["labelers"] = selectors.labeler_stats(project=project)
        return Response(body)


class PairListView(APIView):
    permission_classes = [IsResearcher]
    pagination_class = LimitOffsetPagination

    @extend_schema(responses=s.PairSerializer(many=True))
    def get(self, request, slug: str):
        project = projects.project_get_for_user(slug=slug, user=request.user, manage=True)
        qs = (
            Pair.objects.filter(project=project)
            .select_related("prompt", "sample_a__policy", "sample_b__policy")
            .order_by("id")
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(s.PairSerializer(page, many=True).data)

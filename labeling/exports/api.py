"""Export API: start an export (runs on a worker), poll its progress, download its files."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

from django.http import FileResponse, StreamingHttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from common.errors import NotFound
from labeling.api.permissions import IsResearcher
from labeling.services.projects import project_get_for_user, projects_visible_to

from .models import Export, ExportStatus
from .options import ExportRequest, export_fields, round_batch
from .services import export_create, export_file_path, export_retry

BROKER_DOWN = OpenApiResponse(
    OpenApiTypes.OBJECT, description="The task queue is unreachable: the export is kept as `enqueue_failed`; retry."
)


def _request_field(kind: str, default, choices: tuple[str, ...], help_text: str) -> serializers.Field:
    """The DRF field of one ExportRequest field, by its kind (see options.export_fields)."""
    extra = {"help_text": help_text} | ({"default": default} if default is not None or kind == "date" else {})
    if kind == "choice":
        return serializers.ChoiceField(choices=choices, allow_blank="" in (default,), **extra)
    if kind == "bool":
        return serializers.BooleanField(**extra)
    if kind == "int":
        return serializers.IntegerField(**extra)
    if kind == "date":
        return serializers.DateTimeField(required=False, allow_null=True, **extra)
    if kind == "list":
        return serializers.ListField(child=serializers.CharField(max_length=120), **(extra | {"default": list}))
    if kind == "fractions":
        return serializers.ListField(child=serializers.FloatField(), min_length=3, max_length=3,
                                     **(extra | {"default": list(default)}))  # fmt: skip
    return serializers.CharField(allow_blank=True, max_length=500, **extra)


class ExportCreateSerializer(serializers.Serializer):
    """The fields of ExportRequest (one definition, in options.py), plus `rounds`, a shorthand for round batches."""

    rounds = serializers.ListField(
        child=serializers.IntegerField(min_value=1), default=list, help_text="only pairs generated for these rounds"
    )

    def get_fields(self):
        fields = {
            name: _request_field(kind, default, meta.choices, meta.help)
            for name, kind, default, meta in export_fields()
        }
        return fields | super().get_fields()

    def to_request(self) -> ExportRequest:
        data = dict(self.validated_data)
        data["batches"] = tuple(data["batches"]) + tuple(round_batch(r) for r in data.pop("rounds"))
        data["policies"], data["split"] = tuple(data["policies"]), tuple(data["split"])
        return ExportRequest(**data)


class ExportSerializer(serializers.ModelSerializer):
    project = serializers.CharField(source="project.slug")
    created_by = serializers.CharField(source="created_by.username", default=None, allow_null=True)
    status_url = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()
    files = serializers.SerializerMethodField()

    class Meta:
        model = Export
        fields = [
            "id", "project", "format", "filters", "status", "progress", "row_count", "created_by", "created_at",
            "finished_at", "error", "status_url", "download_url", "files", "manifest",
        ]  # fmt: skip

    def get_status_url(self, obj: Export) -> str:
        return reverse("api-export", args=[obj.id])

    def get_download_url(self, obj: Export) -> str | None:
        return reverse("api-export-download", args=[obj.id]) if obj.status == ExportStatus.DONE else None

    def get_files(self, obj: Export) -> list[dict]:
        if obj.status != ExportStatus.DONE:
            return []
        names = [f["path"] for f in obj.manifest.get("files", [])] + ["manifest.json"]
        return [{"name": n, "url": reverse("api-export-file", args=[obj.id, n])} for n in names]


def _export_for(request, export_id: int) -> Export:
    export = (
        Export.objects.select_related("project", "created_by")
        .filter(id=export_id, project__in=projects_visible_to(request.user))
        .first()
    )
    if export is None:
        raise NotFound(f"No export {export_id} in a project of yours.")
    return export


class ProjectExportsView(APIView):
    permission_classes = [IsResearcher]

    @extend_schema(responses=ExportSerializer(many=True))
    def get(self, request, slug: str):
        project = project_get_for_user(slug=slug, user=request.user, manage=True)
        exports = Export.objects.filter(project=project).select_related("project", "created_by")[:100]
        return Response(ExportSerializer(exports, many=True).data)

    @extend_schema(request=ExportCreateSerializer, responses={202: ExportSerializer, 503: BROKER_DOWN})
    def post(self, request, slug: str):
        project = project_get_for_user(slug=slug, user=request.user, manage=True)
        data = ExportCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        export = export_create(project=project, request=data.to_request(), created_by=request.user)
        return Response(ExportSerializer(export).data, status=status.HTTP_202_ACCEPTED)


class ExportDetailView(APIView):
    permission_classes = [IsResearcher]

    @extend_schema(responses=ExportSerializer)
    def get(self, request, export_id: int):
        return Response(ExportSerializer(_export_for(request, export_id)).data)


class ExportRetryView(APIView):
    permission_classes = [IsResearcher]

    @extend_schema(
        request=None,
        responses={
            202: ExportSerializer,
            409: OpenApiResponse(
                OpenApiTypes.OBJECT, description="The export is done or running with a live heartbeat."
            ),
            503: BROKER_DOWN,
        },
    )
    def post(self, request, export_id: int):
        """Queue a failed, never-queued (broker was down) or stalled export again: 409 if it is live or done."""
        export = export_retry(export=_export_for(request, export_id))
        return Response(ExportSerializer(export).data, status=status.HTTP_202_ACCEPTED)


class ExportFileView(APIView):
    permission_classes = [IsResearcher]

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    def get(self, request, export_id: int, name: str):
        path = export_file_path(export=_export_for(request, export_id), name=name)
        return FileResponse(open(path, "rb"), as_attachment=True, filename=path.name)


class _Chunks:
    """A write-only file for zipfile that hands out what was written, so the zip streams without a temp file."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.offset = 0

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.offset += len(data)
        return len(data)

    def tell(self) -> int:
        return self.offset

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


def _zip_stream(root: Path, names: list[str]) -> Iterator[bytes]:
    sink = _Chunks()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        for name in names:
            with open(root / name, "rb") as src, archive.open(name, "w", force_zip64=True) as dst:
                for block in iter(lambda: src.read(1 << 20), b""):
                    dst.write(block)
                    yield sink.take()
            yield sink.take()
    yield sink.take()


class ExportDownloadView(APIView):
    permission_classes = [IsResearcher]

    @extend_schema(responses={(200, "application/zip"): bytes})
    def get(self, request, export_id: int):
        export = _export_for(request, export_id)
        root = export_file_path(export=export, name="manifest.json").parent
        names = [f["path"] for f in export.manifest.get("files", [])] + ["manifest.json"]
        response = StreamingHttpResponse(_zip_stream(root, names), content_type="application/zip")
        filename = f"{export.project.slug}-export-{export.id}-{export.format}.zip"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

"""Routes of the export API, mounted under /api/v1/."""

from django.urls import path

from . import api

urlpatterns = [
    path("projects/<slug:slug>/exports/", api.ProjectExportsView.as_view(), name="api-project-exports"),
    path("exports/<int:export_id>/", api.ExportDetailView.as_view(), name="api-export"),
    path("exports/<int:export_id>/retry/", api.ExportRetryView.as_view(), name="api-export-retry"),
    path("exports/<int:export_id>/download/", api.ExportDownloadView.as_view(), name="api-export-download"),
    path("exports/<int:export_id>/files/<path:name>", api.ExportFileView.as_view(), name="api-export-file"),
]

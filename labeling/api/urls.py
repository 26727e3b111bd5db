"""Routes of the /api/v1/ labeling API."""

from django.urls import include, path

from . import agreement_views, views, workspace_views

urlpatterns = [
    path("me/", views.MeView.as_view(), name="api-me"),
    path("tokens/", views.TokenListView.as_view(), name="api-tokens"),
    path("tokens/<str:token_key>/", views.TokenRevokeView.as_view(), name="api-token"),
    path("projects/", views.ProjectListView.as_view(), name="api-projects"),
    path("projects/<slug:slug>/", views.ProjectDetailView.as_view(), name="api-project"),
    path("projects/<slug:slug>/archive/", views.ProjectArchiveView.as_view(), name="api-project-archive"),
    path(
        "projects/<slug:slug>/unarchive/",
        views.ProjectArchiveView.as_view(archive=False),
        name="api-project-unarchive",
    ),
    path("projects/<slug:slug>/members/", views.ProjectMembersView.as_view(), name="api-project-members"),
    path("projects/<slug:slug>/imports/prompts/", views.ImportView.as_view(kind="prompts"), name="api-import-prompts"),
    path("projects/<slug:slug>/imports/pairs/", views.ImportView.as_view(kind="pairs"), name="api-import-pairs"),
    path("projects/<slug:slug>/next/", views.NextPairView.as_view(), name="api-next"),
    path("projects/<slug:slug>/progress/", views.ProjectProgressView.as_view(), name="api-progress"),
    path("projects/<slug:slug>/pairs/", views.PairListView.as_view(), name="api-pairs"),
    path("projects/<slug:slug>/agreement/", agreement_views.AgreementReportView.as_view(), name="api-agreement"),
    path("projects/<slug:slug>/exclusions/", agreement_views.ExclusionListView.as_view(), name="api-exclusions"),
    path(
        "projects/<slug:slug>/exclusions/lift/", agreement_views.ExclusionLiftView.as_view(), name="api-exclusion-lift"
    ),
    path(
        "projects/<slug:slug>/my-judgments/", workspace_views.MyRecentJudgmentsView.as_view(), name="api-my-judgments"
    ),
    path(
        "projects/<slug:slug>/content-warning/acknowledge/",
        workspace_views.ContentWarningAckView.as_view(),
        name="api-content-warning-ack",
    ),
    path("assignments/release/", workspace_views.ReleaseLeasesView.as_view(), name="api-release"),
    path("assignments/<int:assignment_id>/submit/", views.SubmitView.as_view(), name="api-submit"),
    path("assignments/<int:assignment_id>/skip/", views.SkipView.as_view(), name="api-skip"),
    path("assignments/<int:assignment_id>/flag/", views.FlagView.as_view(), name="api-flag"),
    path("comparisons/", views.ComparisonListView.as_view(), name="api-comparisons"),
    path("comparisons/<int:comparison_id>/", views.ComparisonDetailView.as_view(), name="api-comparison"),
    path("comparisons/<int:comparison_id>/revise/", views.ComparisonReviseView.as_view(), name="api-comparison-revise"),
    path("", include("labeling.exports.urls")),
]

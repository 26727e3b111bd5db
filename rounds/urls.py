"""Browser routes of training rounds."""

from django.urls import path

from . import views

urlpatterns = [
    path("projects/<slug:slug>/rounds/new/", views.round_new, name="round-new"),
    path(
        "projects/<slug:slug>/experiments/<int:experiment_id>/chart.svg",
        views.experiment_chart,
        name="experiment-chart",
    ),
    path("projects/<slug:slug>/rounds/<int:number>/", views.round_page, name="round-page"),
    path("projects/<slug:slug>/rounds/<int:number>/sections/", views.round_sections, name="round-sections"),
    path("projects/<slug:slug>/rounds/<int:number>/samples/", views.round_samples, name="round-samples"),
    path("projects/<slug:slug>/rounds/<int:number>/<str:action>/", views.round_action, name="round-action"),
    path(
        "projects/<slug:slug>/rounds/<int:number>/launches/<str:phase>/<int:index>/log/",
        views.launch_log,
        name="round-launch-log",
    ),
]

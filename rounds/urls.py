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
    path("projects/<slug:slug>/rounds/<int:number>/<str:action>/", views.round_action, name="round-action"),
]

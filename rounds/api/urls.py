"""Routes of the training-rounds API under /api/v1/."""

from django.urls import path

from . import views

urlpatterns = [
    path("projects/<slug:slug>/rounds/", views.RoundListView.as_view(), name="api-rounds"),
    path("projects/<slug:slug>/rounds/<int:number>/", views.RoundDetailView.as_view(), name="api-round"),
    *[
        path(
            f"projects/<slug:slug>/rounds/<int:number>/{action}/",
            views.RoundActionView.as_view(action=action),
            name=f"api-round-{action}",
        )
        for action in views.RoundActionView.ACTIONS
    ],
]

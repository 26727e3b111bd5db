"""Browser routes."""

from django.urls import path

from .views import home, projects, workspace

urlpatterns = [
    path("", home.home, name="home"),
    path("label/", home.label_home, name="label-home"),
    path("label/<slug:slug>/", workspace.label_workspace, name="label-workspace"),
    path("projects/", projects.project_list, name="project-list"),
    path("projects/<slug:slug>/", projects.project_detail, name="project-detail"),
    path("projects/<slug:slug>/import/", projects.project_import, name="project-import"),
]

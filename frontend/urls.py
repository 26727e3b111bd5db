"""Browser routes."""

from django.contrib.auth.decorators import login_required
from django.urls import path

from .views import exports, home, pairs, project_manage, projects, users, workspace

urlpatterns = [
    path("", home.home, name="home"),
    path("label/", home.label_home, name="label-home"),
    path("label/<slug:slug>/", workspace.label_workspace, name="label-workspace"),
    path("projects/", projects.project_list, name="project-list"),
    path("users/", users.users_page, name="users"),
    path("users/<int:user_id>/<slug:action>/", users.user_action, name="user-action"),
    path("projects/new/", project_manage.project_new, name="project-new"),
    path("projects/<slug:slug>/", projects.project_detail, name="project-detail"),
    path("projects/<slug:slug>/pairs/<int:pair_id>/", login_required(pairs.pair_page), name="project-pair"),
    path(
        "projects/<slug:slug>/pairs/<int:pair_id>/resolve/",
        login_required(pairs.pair_flags_resolve),
        name="project-pair-resolve",
    ),
    path("projects/<slug:slug>/exports/<int:export_id>/", exports.export_page, name="project-export"),
    path("projects/<slug:slug>/settings/", project_manage.project_settings_page, name="project-settings"),
    path("projects/<slug:slug>/members/add/", project_manage.project_member_add, name="project-member-add"),
    path(
        "projects/<slug:slug>/members/<int:user_id>/remove/",
        project_manage.project_member_remove,
        name="project-member-remove",
    ),
    path(
        "projects/<slug:slug>/leases/<int:user_id>/release/",
        projects.project_leases_release,
        name="project-leases-release",
    ),
    path("projects/<slug:slug>/import/", projects.project_import, name="project-import"),
]

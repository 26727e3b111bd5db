"""The admins' users page: create labeler (or researcher) accounts, reset passwords, set roles, deactivate."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from common.errors import DomainError
from labeling.models import Project, Role
from labeling.services import users as user_services
from labeling.services.accounts import is_admin, user_create, user_deactivate
from labeling.services.projects import project_add_member


class UserCreateForm(forms.Form):
    username = forms.CharField(max_length=150)
    password = forms.CharField(widget=forms.PasswordInput(render_value=True), help_text="Give it to the person once.")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.LABELER)
    projects = forms.ModelMultipleChoiceField(
        queryset=Project.objects.order_by("slug"),
        required=False,
        to_field_name="slug",
        widget=forms.CheckboxSelectMultiple,
    )


def _require_admin(user) -> None:
    if not is_admin(user):
        raise PermissionDenied("Only admins can manage accounts.")


@login_required
def users_page(request):
    _require_admin(request.user)
    form = UserCreateForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                user = user_create(
                    username=form.cleaned_data["username"],
                    password=form.cleaned_data["password"],
                    role=form.cleaned_data["role"],
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                for project in form.cleaned_data["projects"]:
                    project_add_member(project=project, user=user)
                messages.success(request, f"Account {user.username} created.")
                return redirect("users")
        status = 400
    context = {"rows": user_services.users_overview(), "form": form, "roles": Role.choices}
    return render(request, "frontend/users.html", context, status=status)


@login_required
@require_POST
def user_action(request, user_id: int, action: str):
    _require_admin(request.user)
    user = get_object_or_404(get_user_model(), id=user_id)
    try:
        if action == "password":
            user_services.user_password_reset(user=user, password=request.POST.get("password", ""))
            messages.success(request, f"New password set for {user.username}.")
        elif action == "role":
            user_services.user_role_set(user=user, role=request.POST.get("role", ""))
            messages.success(request, f"{user.username} is now {request.POST.get('role')}.")
        elif action == "deactivate":
            released = user_deactivate(user=user, by=request.user).leases_released
            messages.success(
                request, f"{user.username} can no longer log in; {released} open pair(s) went back to the pool."
            )
        elif action == "reactivate":
            user_services.user_reactivate(user=user)
            messages.success(request, f"{user.username} can log in again.")
        else:
            raise DomainError(f"Unknown action {action!r}.")
    except DomainError as exc:
        messages.error(request, f"{user.username}: {exc.message}")
    return redirect("users")

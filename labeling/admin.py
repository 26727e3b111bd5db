"""Django admin for admins: every labeling model, read-only where rows are immutable."""

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from . import models
from .services.accounts import user_deactivate, user_has_record
from .services.projects import project_archive

User = get_user_model()


@admin.register(models.Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "overlap", "gold_rate", "created_at", "archived_at"]
    search_fields = ["slug", "name"]
    readonly_fields = ["archived_at", "archived_by"]
    actions = ["archive"]

    def has_delete_permission(self, request, obj=None) -> bool:
        # A project with judgments is archived, never deleted (its comparisons are PROTECTed too).
        if obj is not None and models.Comparison.objects.filter(pair__project=obj).exists():
            return False
        return super().has_delete_permission(request, obj)

    @admin.action(description="Archive (keep data and exports, hand out no new pairs)")
    def archive(self, request, queryset):
        for project in queryset:
            project_archive(project=project, archived_by=request.user)
        self.message_user(request, f"Archived {queryset.count()} project(s).", messages.SUCCESS)


admin.site.unregister(User)


@admin.register(User)
class ArbiterUserAdmin(UserAdmin):
    """People who have labeled or flagged are deactivated, never deleted: deleting would drop their flags
    and leave their leases counted. Deleting them is refused here, and PROTECT refuses it in the database."""

    actions = ["deactivate"]

    def has_delete_permission(self, request, obj=None) -> bool:
        if obj is not None and user_has_record(user=obj):
            return False
        return super().has_delete_permission(request, obj)

    @admin.action(description="Deactivate (keep judgments and flags, release leases, revoke API tokens)")
    def deactivate(self, request, queryset):
        released = 0
        for user in queryset:
            released += user_deactivate(user=user).leases_released
        self.message_user(
            request, f"Deactivated {queryset.count()} user(s); released {released} lease(s).", messages.SUCCESS
        )


@admin.register(models.Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "role"]
    list_filter = ["role"]


@admin.register(models.Policy)
class PolicyAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "kind", "parent", "created_at"]
    list_filter = ["kind", "project"]


@admin.register(models.Pair)
class PairAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "is_gold", "submitted_count", "leased_count", "batch"]
    list_filter = ["project", "is_gold"]
    raw_id_fields = ["prompt", "sample_a", "sample_b"]


@admin.register(models.Comparison)
class ComparisonAdmin(admin.ModelAdmin):
    list_display = ["id", "pair", "labeler", "choice", "confidence", "revision", "is_current", "created_at"]
    list_filter = ["choice", "is_current"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(models.PairFlag)
class PairFlagAdmin(admin.ModelAdmin):
    list_display = ["pair", "labeler", "reason", "created_at", "resolved_at"]
    list_filter = ["reason"]


@admin.register(models.LabelerExclusion)
class LabelerExclusionAdmin(admin.ModelAdmin):
    list_display = ["project", "labeler", "created_by", "created_at", "lifted_at"]


admin.site.register([models.Prompt, models.Sample, models.Assignment, models.ProjectMembership])

"""Django admin for admins: every labeling model, read-only where rows are immutable."""

from django.contrib import admin

from . import models


@admin.register(models.Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "overlap", "gold_rate", "created_at"]
    search_fields = ["slug", "name"]


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

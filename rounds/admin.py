"""Django admin for rounds: read-mostly views of rounds, transitions and reward models (changes go through services)."""

from django.contrib import admin

from .models import RewardModel, RoundTransition, TrainingRound


class TransitionInline(admin.TabularInline):
    model = RoundTransition
    extra = 0
    can_delete = False
    readonly_fields = ("from_state", "to_state", "actor", "reason", "created_at")


@admin.register(TrainingRound)
class TrainingRoundAdmin(admin.ModelAdmin):
    list_display = ("project", "number", "state", "progress_percent", "policy", "new_policy", "created_at")
    list_filter = ("state", "project")
    readonly_fields = [f.name for f in TrainingRound._meta.fields]
    inlines = [TransitionInline]


@admin.register(RewardModel)
class RewardModelAdmin(admin.ModelAdmin):
    list_display = ("name", "project", "parent_policy", "export_manifest_hash", "created_at")
    readonly_fields = [f.name for f in RewardModel._meta.fields]

"""Django admin: exports are read-only records of what was exported, by whom, with the manifest."""

from django.contrib import admin

from .models import Export


@admin.register(Export)
class ExportAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "format", "status", "progress", "row_count", "created_by", "created_at"]
    list_filter = ["status", "format", "project"]
    readonly_fields = [f.name for f in Export._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

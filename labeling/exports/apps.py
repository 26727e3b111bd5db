from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "labeling.exports"
    label = "exports"
    verbose_name = "Dataset exports"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        try:
            from frontend.panels import register_panel
        except ImportError:  # the web frontend is optional for exports
            return
        from .panel import exports_panel_context

        register_panel("exports", exports_panel_context)

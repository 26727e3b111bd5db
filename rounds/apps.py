"""Django app config of training rounds."""

from django.apps import AppConfig


class RoundsConfig(AppConfig):
    name = "rounds"
    verbose_name = "Training rounds"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from frontend.panels import register_panel

        from .panel import experiments_panel_context, rounds_panel_context

        register_panel("rounds", rounds_panel_context)
        register_panel("experiments", experiments_panel_context)

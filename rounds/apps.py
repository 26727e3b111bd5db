"""Django app config of training rounds."""
from django.apps import AppConfig


class RoundsConfig(AppConfig):
    name = "rounds"
    verbose_name = "Training rounds"
    default_auto_field = "django.db.models.BigAutoField"

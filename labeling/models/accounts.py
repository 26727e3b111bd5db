"""User roles: labeler, researcher, admin."""

from django.conf import settings
from django.db import models


class Role(models.TextChoices):
    LABELER = "labeler", "Labeler"
    RESEARCHER = "researcher", "Researcher"
    ADMIN = "admin", "Admin"


class Profile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.LABELER)

    def __str__(self) -> str:
        return f"{self.user.username} ({self.role})"

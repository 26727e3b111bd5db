"""Template helpers for every page: the user's role, safe Markdown."""

from django import template

from frontend.rendering import markdown_safe
from labeling.services.accounts import is_researcher, user_role

register = template.Library()


@register.filter
def role(user) -> str:
    return user_role(user)


@register.filter
def researcher(user) -> bool:
    return bool(user.is_authenticated and is_researcher(user))


@register.filter
def markdown(text: str) -> str:
    return markdown_safe(text or "")

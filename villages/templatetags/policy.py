"""Templates ask the access policy the way views do: `{% if user|may:"view_decisions" %}`.

Loaded for every template (TEMPLATES builtins), so no template compares `user.role`.
"""

from __future__ import annotations

from django import template
from django.contrib.auth.models import AnonymousUser

from villages.models import User
from villages.policy import may as policy_may

register = template.Library()


@register.filter
def may(user: User | AnonymousUser | None, action: str) -> bool:
    """Whether `user` may do `action` regardless of place (role-only questions)."""
    return policy_may(user, action)

from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScoringConfig(AppConfig):
    verbose_name = _("Scoring")
    name = "scoring"
    default_auto_field = "django.db.models.BigAutoField"

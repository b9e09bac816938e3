from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VillagesConfig(AppConfig):
    verbose_name = _("Regions and units")
    name = "villages"
    default_auto_field = "django.db.models.BigAutoField"

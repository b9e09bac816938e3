from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    verbose_name = _("Campaigns")
    name = "campaigns"
    default_auto_field = "django.db.models.BigAutoField"

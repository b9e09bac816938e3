"""The stages of an assessment: campaigns choose which they use, scoring records them."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Stage(models.TextChoices):
    """Where an assessment stands. Final is the locked state after county review."""

    SELF = "self", _("Village self-assessment")
    TOWNSHIP = "township", _("Township initial assessment")
    COUNTY = "county", _("County review")
    FINAL = "final", _("Final")


class ScoreStage(models.TextChoices):
    """The stages that keep their own scores (final keeps the county's, locked)."""

    SELF = Stage.SELF.value, _("Self")
    TOWNSHIP = Stage.TOWNSHIP.value, _("Township")
    COUNTY = Stage.COUNTY.value, _("County")

"""What is being run: campaigns, their dimensions (flags or stars), catalogues and targets."""

from __future__ import annotations

from decimal import Decimal
from typing import Self

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from campaigns.bands import parse_bands
from campaigns.stages import ScoreStage, Stage
from villages.access import CoveringQuerySet, ScopedQuerySet
from villages.models import UnitKind

MAX_LEVEL = 10  # no scheme has more than ten flags or stars


class Scheme(models.TextChoices):
    FLAG = "flag", _("Red flags")
    STAR = "star", _("Stars")


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    CLOSED = "closed", _("Closed")


class RuleMode(models.TextChoices):
    DIMENSION = "dimension", _("Per dimension: each dimension at or above the threshold")
    BANDS = "bands", _("Total score bands: the total decides the level")


def validate_bands(text: str) -> None:
    try:
        parse_bands(text)
    except (ValueError, ArithmeticError):
        raise ValidationError(
            _("Write bands as minimum:level pairs, highest first, e.g. 90:5,80:4,70:3,60:2,0:1.")
        ) from None


class CampaignQuerySet(CoveringQuerySet):
    region_code_path = "region__code"

    def active(self) -> Self:
        return self.filter(status=CampaignStatus.ACTIVE)


class Campaign(models.Model):
    """A red-flag (五面红旗) or star (五星支部) campaign over one county or city for a year.

    Everything that differs between counties is configuration here, not code: the scheme word,
    the dimensions and catalogues, the threshold, and which assessment stages are used.
    """

    name = models.CharField(_("name"), max_length=128)
    slug = models.SlugField(_("short name"), max_length=64, unique=True)
    scheme = models.CharField(_("scheme"), max_length=8, choices=Scheme)
    year = models.PositiveSmallIntegerField(
        _("year"), validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    region = models.ForeignKey(
        "villages.Region",
        verbose_name=_("region covered"),
        on_delete=models.PROTECT,
        related_name="campaigns",
    )
    status = models.CharField(
        _("status"), max_length=8, choices=CampaignStatus, default=CampaignStatus.DRAFT
    )
    threshold = models.DecimalField(
        _("threshold"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("90"),
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text=_("A dimension score (out of 100) at or above this earns the flag or star."),
    )
    use_self_stage = models.BooleanField(_("village self-assessment (自评)"), default=True)
    use_township_stage = models.BooleanField(_("township initial assessment (初评)"), default=True)
    rule_mode = models.CharField(
        _("adjustment rule"), max_length=16, choices=RuleMode, default=RuleMode.DIMENSION
    )
    bands = models.CharField(
        _("score bands"),
        max_length=100,
        default="90:5,80:4,70:3,60:2,0:1",
        validators=[validate_bands],
        help_text=_("Band mode only: total score minimum and the level it earns."),
    )
    level_cap = models.PositiveSmallIntegerField(
        _("highest level awarded"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(MAX_LEVEL)],
        help_text=_("Band mode only; leave empty for no cap."),
    )
    effective_rise = models.DecimalField(
        _("effective: total rises by at least"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("3"),
        help_text=_(
            "A unit is listed as effective when it gains a level or its total rises this much."
        ),
    )
    return_days = models.PositiveSmallIntegerField(
        _("days to redo a returned assessment"),
        default=7,
        help_text=_("A returned assessment is due this many days after it was returned."),
    )
    slow_below = models.DecimalField(
        _("slow: total below"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("70"),
        help_text=_("A unit is listed as slow when it loses a level or its total is below this."),
    )
    catalogue_version = models.PositiveIntegerField(
        _("catalogue version"),
        default=1,
        help_text=_("Raised when an active campaign's catalogue changes; periods keep theirs."),
    )
    description = models.TextField(_("description"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = CampaignQuerySet.as_manager()

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-year", "name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(scheme__in=Scheme.values), name="campaign_scheme_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=CampaignStatus.values), name="campaign_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(threshold__gte=0, threshold__lte=100),
                name="campaign_threshold_0_100",
            ),
            models.CheckConstraint(
                condition=models.Q(year__gte=2000, year__lte=2100), name="campaign_year_range"
            ),
            models.CheckConstraint(
                condition=models.Q(rule_mode__in=RuleMode.values), name="campaign_rule_mode_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def level_word(self) -> str:
        """The unit of level in this scheme: 面红旗 or 星."""
        return _("flags") if self.scheme == Scheme.FLAG else _("stars")

    def level_text(self, level: int) -> str:
        """A level in this scheme's words: 5面红旗, 3星."""
        text = _("%(level)s flags") if self.scheme == Scheme.FLAG else _("%(level)s stars")
        return text % {"level": level}

    @property
    def levels_heading(self) -> str:
        """The heading of a count of units by level (按持有红旗数统计 / 按星级统计)."""
        if self.scheme == Scheme.FLAG:
            return _("Units by number of flags held")
        return _("Units by number of stars held")

    def stages(self) -> list[str]:
        """Return the score-entry stages this campaign uses, in order."""
        order = []
        if self.use_self_stage:
            order.append(ScoreStage.SELF)
        if self.use_township_stage:
            order.append(ScoreStage.TOWNSHIP)
        order.append(ScoreStage.COUNTY)
        return order

    def stage_order(self) -> list[str]:
        """The stages an assessment of this campaign goes through, ending with final."""
        return [*self.stages(), Stage.FINAL]

    def next_stage(self, stage: str) -> str | None:
        """The stage after `stage` (None after final)."""
        order = self.stage_order()
        index = order.index(stage)
        return order[index + 1] if index + 1 < len(order) else None

    def previous_stage(self, stage: str) -> str | None:
        """The stage before `stage` (None before the first one)."""
        order = self.stage_order()
        index = order.index(stage)
        return order[index - 1] if index > 0 else None


class AppliesTo(models.TextChoices):
    VILLAGE = UnitKind.VILLAGE.value, _("Villages")
    COMMUNITY = UnitKind.COMMUNITY.value, _("Communities")
    BOTH = "both", _("Villages and communities")


class DimensionQuerySet(CoveringQuerySet):
    region_code_path = "campaign__region__code"

    def for_kind(self, kind: str) -> Self:
        return self.filter(applies_to__in=[kind, AppliesTo.BOTH])


class Dimension(models.Model):
    """One flag or star (e.g. 党建引领 or 产业兴旺) and which unit kinds it applies to.

    Its indicators' points are normalised to a score out of 100.
    """

    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.CASCADE, related_name="dimensions"
    )
    code = models.SlugField(_("code"), max_length=32)
    name = models.CharField(_("name"), max_length=64)
    applies_to = models.CharField(
        _("applies to"), max_length=16, choices=AppliesTo, default=AppliesTo.BOTH
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    threshold = models.DecimalField(
        _("threshold override"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text=_("Leave empty to use the campaign's threshold."),
    )
    bonus_cap = models.DecimalField(
        _("bonus cap"),
        max_digits=6,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(0)],
        help_text=_("Most bonus points (加分) counted in this dimension."),
    )
    description = models.TextField(_("description"), blank=True)

    objects = DimensionQuerySet.as_manager()

    class Meta:
        verbose_name = _("dimension")
        verbose_name_plural = _("dimensions")
        ordering = ["campaign", "order", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "code"], name="dimension_unique_code_per_campaign"
            ),
            models.CheckConstraint(
                condition=models.Q(applies_to__in=AppliesTo.values),
                name="dimension_applies_to_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(threshold__isnull=True)
                | models.Q(threshold__gte=0, threshold__lte=100),
                name="dimension_threshold_0_100",
            ),
            models.CheckConstraint(
                condition=models.Q(bonus_cap__gte=0), name="dimension_bonus_cap_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def effective_threshold(self) -> Decimal:
        return self.threshold if self.threshold is not None else self.campaign.threshold


class IndicatorKind(models.TextChoices):
    POINTS = "points", _("Points (计分)")
    VETO = "veto", _("Veto (否决)")
    BONUS = "bonus", _("Bonus (加分)")


class IndicatorQuerySet(CoveringQuerySet):
    region_code_path = "dimension__campaign__region__code"

    def for_version(self, version: int) -> Self:
        """Indicators in force in catalogue version `version`."""
        return self.filter(version_from__lte=version).filter(
            models.Q(version_to__isnull=True) | models.Q(version_to__gt=version)
        )

    def applicable(self, campaign_id: int, version: int, kind: str) -> Self:
        """Indicators of a campaign's catalogue version that apply to a unit kind."""
        return (
            self.for_version(version)
            .filter(dimension__campaign_id=campaign_id)
            .filter(models.Q(dimension__applies_to=kind) | models.Q(dimension__applies_to="both"))
        )


class Indicator(models.Model):
    """One line of a catalogue (评分细则): code such as 2.3.1, what earns the points and how many.

    Veto items carry no points: triggered, the dimension cannot be held that period. Bonus items
    add points up to the dimension's cap. Rows are versioned rather than edited once a campaign
    is active: a change retires the row (`version_to`) and adds one from the next version.
    """

    dimension = models.ForeignKey(
        Dimension, verbose_name=_("dimension"), on_delete=models.CASCADE, related_name="indicators"
    )
    code = models.CharField(_("code"), max_length=16)
    title = models.CharField(_("title"), max_length=200)
    rule_text = models.TextField(_("scoring rule"), blank=True)
    max_points = models.DecimalField(
        _("max points"), max_digits=6, decimal_places=2, validators=[MinValueValidator(0)]
    )
    kind = models.CharField(
        _("kind"), max_length=8, choices=IndicatorKind, default=IndicatorKind.POINTS
    )
    lead_department = models.ForeignKey(
        "villages.Department",
        verbose_name=_("lead department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="indicators",
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    version_from = models.PositiveIntegerField(_("from version"), default=1)
    version_to = models.PositiveIntegerField(_("retired in version"), null=True, blank=True)

    objects = IndicatorQuerySet.as_manager()

    class Meta:
        verbose_name = _("indicator")
        verbose_name_plural = _("indicators")
        ordering = ["dimension", "order", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["dimension", "code", "version_from"],
                name="indicator_unique_code_per_version",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=IndicatorKind.values), name="indicator_kind_valid"
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(kind=IndicatorKind.VETO, max_points=0)
                    | (~models.Q(kind=IndicatorKind.VETO) & models.Q(max_points__gt=0))
                ),
                name="indicator_points_match_kind",
            ),
            models.CheckConstraint(
                condition=models.Q(version_to__isnull=True)
                | models.Q(version_to__gt=models.F("version_from")),
                name="indicator_version_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class LevelTargetQuerySet(CoveringQuerySet):
    region_code_path = "region__code"


class LevelTarget(models.Model):
    """How many units a region wants at one level (e.g. 内黄: 6 five-star branches)."""

    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.CASCADE, related_name="targets"
    )
    region = models.ForeignKey(
        "villages.Region",
        verbose_name=_("region"),
        on_delete=models.PROTECT,
        related_name="level_targets",
    )
    level = models.PositiveSmallIntegerField(
        _("level"), validators=[MinValueValidator(1), MaxValueValidator(MAX_LEVEL)]
    )
    count = models.PositiveIntegerField(_("number of units"))

    objects = LevelTargetQuerySet.as_manager()

    class Meta:
        verbose_name = _("level target")
        verbose_name_plural = _("level targets")
        ordering = ["campaign", "region", "-level"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "region", "level"], name="level_target_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(level__gte=1, level__lte=MAX_LEVEL),
                name="level_target_level_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign} {self.region} {self.level}: {self.count}"


class UnitTargetQuerySet(ScopedQuerySet):
    scope_code_path = "unit__code"


class UnitTarget(models.Model):
    """One unit's target level (荐旗): the township recommends, the county decides."""

    campaign = models.ForeignKey(
        Campaign,
        verbose_name=_("campaign"),
        on_delete=models.CASCADE,
        related_name="unit_targets",
    )
    unit = models.ForeignKey(
        "villages.Unit",
        verbose_name=_("unit"),
        on_delete=models.CASCADE,
        related_name="targets",
    )
    recommended_level = models.PositiveSmallIntegerField(
        _("recommended level"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(MAX_LEVEL)],
    )
    recommended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recommended by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    recommended_at = models.DateTimeField(_("recommended at"), null=True, blank=True)
    decided_level = models.PositiveSmallIntegerField(
        _("decided level"), null=True, blank=True, validators=[MaxValueValidator(MAX_LEVEL)]
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)

    objects = UnitTargetQuerySet.as_manager()

    class Meta:
        verbose_name = _("unit target")
        verbose_name_plural = _("unit targets")
        ordering = ["campaign", "unit"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "unit"], name="unit_target_unique"),
            models.CheckConstraint(
                condition=models.Q(recommended_level__isnull=True)
                | models.Q(recommended_level__lte=MAX_LEVEL),
                name="unit_target_recommended_range",
            ),
            models.CheckConstraint(
                condition=models.Q(decided_level__isnull=True)
                | models.Q(decided_level__lte=MAX_LEVEL),
                name="unit_target_decided_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit}: {self.decided_level or self.recommended_level or '-'}"

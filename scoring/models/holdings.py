"""Flag/star holdings with their history, and the adjustment runs (调旗) that change them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from scoring.models.periods import Period
from villages.access import CoveringQuerySet, ScopedQuerySet


class HoldingQuerySet(ScopedQuerySet):
    scope_code_path = "unit__code"


class Holding(models.Model):
    """A flag or star a unit holds now (one row per unit × dimension held). Level = rows held."""

    unit = models.ForeignKey(
        "villages.Unit",
        verbose_name=_("unit"),
        on_delete=models.CASCADE,
        related_name="holdings",
    )
    dimension = models.ForeignKey(
        "campaigns.Dimension",
        verbose_name=_("dimension"),
        on_delete=models.CASCADE,
        related_name="holdings",
    )
    since_period = models.ForeignKey(
        Period,
        verbose_name=_("held since"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    since = models.DateTimeField(_("held since (time)"), default=timezone.now)

    objects = HoldingQuerySet.as_manager()

    class Meta:
        verbose_name = _("holding")
        verbose_name_plural = _("holdings")
        ordering = ["unit", "dimension"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "dimension"], name="holding_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.unit} {self.dimension}"


class HoldingChangeKind(models.TextChoices):
    AWARD = "award", _("Awarded")
    WITHDRAW = "withdraw", _("Withdrawn")


class HoldingChangeQuerySet(ScopedQuerySet):
    scope_code_path = "unit__code"


class HoldingChange(models.Model):
    """A flag or star gained or lost: the period, the score that caused it, who decided, why."""

    unit = models.ForeignKey(
        "villages.Unit",
        verbose_name=_("unit"),
        on_delete=models.CASCADE,
        related_name="holding_changes",
    )
    dimension = models.ForeignKey(
        "campaigns.Dimension",
        verbose_name=_("dimension"),
        on_delete=models.CASCADE,
        related_name="holding_changes",
    )
    period = models.ForeignKey(
        Period, verbose_name=_("period"), on_delete=models.PROTECT, related_name="holding_changes"
    )
    kind = models.CharField(_("change"), max_length=8, choices=HoldingChangeKind)
    score = models.DecimalField(
        _("dimension score"), max_digits=6, decimal_places=2, null=True, blank=True
    )
    reason = models.TextField(_("reason"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), default=timezone.now)

    objects = HoldingChangeQuerySet.as_manager()

    class Meta:
        verbose_name = _("holding change")
        verbose_name_plural = _("holding changes")
        ordering = ["unit", "-decided_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=HoldingChangeKind.values),
                name="holding_change_kind_valid",
            ),
            # One decision per unit, dimension and period: confirming twice adds nothing.
            models.UniqueConstraint(
                fields=["unit", "dimension", "period"], name="holding_change_once_per_period"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit} {self.dimension} {self.get_kind_display()}"


class AdjustmentStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    CONFIRMED = "confirmed", _("Confirmed")


class AdjustmentRunQuerySet(CoveringQuerySet):
    region_code_path = "campaign__region__code"


class AdjustmentRun(models.Model):
    """An adjustment (调旗) of one period: proposals for every unit × dimension, then confirmed.

    `townships` empty means the whole campaign region.
    """

    campaign = models.ForeignKey(
        "campaigns.Campaign",
        verbose_name=_("campaign"),
        on_delete=models.CASCADE,
        related_name="adjustment_runs",
    )
    period = models.ForeignKey(
        Period, verbose_name=_("period"), on_delete=models.CASCADE, related_name="adjustment_runs"
    )
    townships = models.ManyToManyField(
        "villages.Region", verbose_name=_("townships"), blank=True, related_name="+"
    )
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=AdjustmentStatus,
        default=AdjustmentStatus.PROPOSED,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("confirmed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)

    objects = AdjustmentRunQuerySet.as_manager()

    class Meta:
        verbose_name = _("adjustment run")
        verbose_name_plural = _("adjustment runs")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=AdjustmentStatus.values),
                name="adjustment_run_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign} {self.period.label} #{self.pk}"


class ProposalAction(models.TextChoices):
    AWARD = "award", _("Award")
    KEEP = "keep", _("Keep")
    WITHDRAW = "withdraw", _("Withdraw")


class AdjustmentProposalQuerySet(ScopedQuerySet):
    scope_code_path = "unit__code"


class AdjustmentProposal(models.Model):
    """What the rules propose for one unit × dimension in a run, and what the county decided.

    `lost` lists the indicators that cost points: [[code, points], …], largest first.
    """

    run = models.ForeignKey(
        AdjustmentRun,
        verbose_name=_("adjustment run"),
        on_delete=models.CASCADE,
        related_name="proposals",
    )
    unit = models.ForeignKey(
        "villages.Unit", verbose_name=_("unit"), on_delete=models.CASCADE, related_name="+"
    )
    dimension = models.ForeignKey(
        "campaigns.Dimension",
        verbose_name=_("dimension"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    held = models.BooleanField(_("held before"))
    score = models.DecimalField(_("dimension score"), max_digits=6, decimal_places=2)
    vetoed = models.BooleanField(_("veto triggered"), default=False)
    action = models.CharField(_("proposed"), max_length=8, choices=ProposalAction)
    override = models.CharField(
        _("decided instead"), max_length=8, choices=ProposalAction, blank=True
    )
    override_reason = models.TextField(_("reason for overriding"), blank=True)
    # Who last decided on this proposal by hand, and when: confirmation records only who
    # confirmed, and an override kept as "keep" writes no holding change at all.
    overridden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("overridden by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    overridden_at = models.DateTimeField(_("overridden at"), null=True, blank=True)
    lost = models.JSONField(_("points lost"), default=list, blank=True)
    confirmed = models.BooleanField(_("confirmed"), default=False)

    objects = AdjustmentProposalQuerySet.as_manager()

    class Meta:
        verbose_name = _("adjustment proposal")
        verbose_name_plural = _("adjustment proposals")
        ordering = ["run", "unit", "dimension"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "unit", "dimension"], name="adjustment_proposal_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(action__in=ProposalAction.values),
                name="adjustment_proposal_action_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(override="") | ~models.Q(override_reason=""),
                name="adjustment_override_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit} {self.dimension}: {self.decision}"

    @property
    def decision(self) -> str:
        return self.override or self.action

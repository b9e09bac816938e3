"""Assessments, their scores per stage, the audit of every change, and evidence files."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.stages import ScoreStage, Stage
from scoring.models.periods import Period
from villages.access import ScopedQuerySet


class AssessmentQuerySet(ScopedQuerySet):
    scope_code_path = "unit__code"


class Assessment(models.Model):
    """One unit in one period of one campaign, moving self → township → county → final.

    `version` is raised by every transition so that a stale submit or return is refused.
    """

    period = models.ForeignKey(
        Period, verbose_name=_("period"), on_delete=models.CASCADE, related_name="assessments"
    )
    unit = models.ForeignKey(
        "villages.Unit",
        verbose_name=_("unit"),
        on_delete=models.PROTECT,
        related_name="assessments",
    )
    stage = models.CharField(_("stage"), max_length=16, choices=Stage.choices, default=Stage.SELF)
    version = models.PositiveIntegerField(_("version"), default=1)
    returned_reason = models.TextField(_("reason for return"), blank=True)
    returned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("returned by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    returned_at = models.DateTimeField(_("returned at"), null=True, blank=True)
    due_on = models.DateField(
        _("due (after a return)"),
        null=True,
        blank=True,
        help_text=_("Set when it is returned; replaces the period's due date for its stage."),
    )
    finalised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("finalised by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    finalised_at = models.DateTimeField(_("finalised at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = AssessmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("assessment")
        verbose_name_plural = _("assessments")
        ordering = ["period", "unit"]
        constraints = [
            models.UniqueConstraint(fields=["period", "unit"], name="assessment_unique_unit"),
            models.CheckConstraint(
                condition=models.Q(stage__in=Stage.values), name="assessment_stage_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(stage=Stage.FINAL) | models.Q(finalised_at__isnull=False),
                name="assessment_final_has_time",
            ),
        ]
        indexes = [models.Index(fields=["period", "stage"], name="assessment_period_stage")]

    def __str__(self) -> str:
        return f"{self.unit} {self.period.label}"

    @property
    def scope_code(self) -> str:
        """The division code the access policy checks (no query if the unit is loaded)."""
        return self.unit.code

    @property
    def policy_state(self) -> str:
        return self.stage

    @property
    def is_locked(self) -> bool:
        return self.stage == Stage.FINAL

    @property
    def due(self) -> dt.date | None:
        """When its current stage is due: the date set on return, else the period's."""
        if self.stage == Stage.FINAL:
            return None
        return self.due_on or self.period.due_on(self.stage)

    def is_overdue(self, today: dt.date | None = None) -> bool:
        """Past its due date (Asia/Shanghai); final assessments are never overdue."""
        due = self.due
        return due is not None and (today or timezone.localdate()) > due


class Event(models.Model):
    """A step someone took, and when: the shared part of assessment and rectification events.
    `actor` stays nullable so that history outlives a removed account."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        abstract = True


class AssessmentEventKind(models.TextChoices):
    SUBMIT = "submit", _("Submitted")
    RETURN = "return", _("Returned")
    FINALISE = "finalise", _("Finalised")
    REOPEN = "reopen", _("Reopened")
    ON_BEHALF = "on_behalf", _("Submitted on the village's behalf")


# Events that must say why.
EVENT_KINDS_WITH_REASON = (
    AssessmentEventKind.RETURN,
    AssessmentEventKind.REOPEN,
    AssessmentEventKind.ON_BEHALF,
)


class AssessmentEvent(Event):
    """A stage transition of an assessment: who moved it, from where to where, and why."""

    assessment = models.ForeignKey(
        Assessment, verbose_name=_("assessment"), on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(_("action"), max_length=16, choices=AssessmentEventKind)
    from_stage = models.CharField(_("from stage"), max_length=16, choices=Stage.choices)
    to_stage = models.CharField(_("to stage"), max_length=16, choices=Stage.choices)
    reason = models.TextField(_("reason"), blank=True)

    class Meta:
        verbose_name = _("assessment event")
        verbose_name_plural = _("assessment events")
        ordering = ["assessment", "at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=AssessmentEventKind.values),
                name="assessment_event_kind_valid",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind__in=EVENT_KINDS_WITH_REASON) | ~models.Q(reason=""),
                name="assessment_event_return_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.assessment} {self.get_kind_display()}"


class ScoreQuerySet(ScopedQuerySet):
    scope_code_path = "assessment__unit__code"


class Score(models.Model):
    """Points one stage gave one indicator of one assessment (veto items: triggered or not).

    `version` is raised by every save; a save that carries an older version is refused.
    Changes go through scoring services, which write a ScoreChange row for each in the same
    transaction (bulk updates included), so the audit cannot be bypassed by a signal-less path.
    """

    assessment = models.ForeignKey(
        Assessment, verbose_name=_("assessment"), on_delete=models.CASCADE, related_name="scores"
    )
    indicator = models.ForeignKey(
        "campaigns.Indicator",
        verbose_name=_("indicator"),
        on_delete=models.PROTECT,
        related_name="scores",
    )
    stage = models.CharField(_("stage"), max_length=16, choices=ScoreStage.choices)
    value = models.DecimalField(
        _("points"),
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    vetoed = models.BooleanField(_("veto triggered"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    version = models.PositiveIntegerField(_("version"), default=1)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    objects = ScoreQuerySet.as_manager()

    class Meta:
        verbose_name = _("score")
        verbose_name_plural = _("scores")
        constraints = [
            models.UniqueConstraint(
                fields=["assessment", "indicator", "stage"], name="score_unique_per_stage"
            ),
            models.CheckConstraint(
                condition=models.Q(stage__in=ScoreStage.values), name="score_stage_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(value__isnull=True) | models.Q(value__gte=0),
                name="score_value_not_negative",
            ),
        ]
        indexes = [models.Index(fields=["assessment", "stage"], name="score_assessment_stage")]

    def __str__(self) -> str:
        return f"{self.assessment} {self.indicator.code} {self.stage}: {self.value}"


class ChangeSource(models.TextChoices):
    WEB = "web", _("Web form")
    UPLOAD = "upload", _("Excel upload")
    COMMAND = "command", _("Command line")
    CARRIED = "carried", _("Carried from the previous stage")
    DEMO = "demo", _("Demo data")


class ScoreChange(models.Model):
    """One audited change of one score: who, when, which stage, old → new, and the note."""

    score = models.ForeignKey(
        Score, verbose_name=_("score"), on_delete=models.CASCADE, related_name="changes"
    )
    assessment = models.ForeignKey(
        Assessment,
        verbose_name=_("assessment"),
        on_delete=models.CASCADE,
        related_name="score_changes",
    )
    indicator = models.ForeignKey(
        "campaigns.Indicator",
        verbose_name=_("indicator"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    stage = models.CharField(_("stage"), max_length=16, choices=ScoreStage.choices)
    old_value = models.DecimalField(
        _("old points"), max_digits=6, decimal_places=2, null=True, blank=True
    )
    new_value = models.DecimalField(
        _("new points"), max_digits=6, decimal_places=2, null=True, blank=True
    )
    old_vetoed = models.BooleanField(_("old veto"), null=True, blank=True)
    new_vetoed = models.BooleanField(_("new veto"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    source = models.CharField(_("source"), max_length=8, choices=ChangeSource)
    after_submission = models.BooleanField(
        _("after submission"),
        default=False,
        help_text=_("The stage had already submitted when this change was made."),
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now)

    class Meta:
        verbose_name = _("score change")
        verbose_name_plural = _("score changes")
        ordering = ["-changed_at", "-id"]
        indexes = [
            models.Index(fields=["assessment", "changed_at"], name="score_change_assessment"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(source__in=ChangeSource.values), name="score_change_source_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.score_id}: {self.old_value} → {self.new_value}"


class Evidence(models.Model):
    """A file (photo, scan, PDF) attached to a score as proof."""

    score = models.ForeignKey(
        Score, verbose_name=_("score"), on_delete=models.CASCADE, related_name="evidence"
    )
    file = models.FileField(_("file"), upload_to="evidence/%Y/%m/")
    original_name = models.CharField(_("file name"), max_length=200)
    size = models.PositiveIntegerField(_("size in bytes"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    class Meta:
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")
        ordering = ["score", "uploaded_at"]

    def __str__(self) -> str:
        return self.original_name

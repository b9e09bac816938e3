"""What happened: periods, assessments and their scores per stage, the audit of every change,
flag/star holdings with their history, and rectification items."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from villages.access import CoveringQuerySet, ScopedQuerySet

period_label_validator = RegexValidator(
    r"^\d{4}Q[1-4]$", _("A period label looks like 2026Q3 (year, Q, quarter 1–4).")
)


class PeriodStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class PeriodQuerySet(CoveringQuerySet):
    region_code_path = "campaign__region__code"


class Period(models.Model):
    """One assessment round of a campaign (a quarter such as 2026Q3), with a deadline per stage.

    Pins the catalogue version its assessments are scored against.
    """

    campaign = models.ForeignKey(
        "campaigns.Campaign",
        verbose_name=_("campaign"),
        on_delete=models.CASCADE,
        related_name="periods",
    )
    label = models.CharField(_("label"), max_length=8, validators=[period_label_validator])
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    catalogue_version = models.PositiveIntegerField(_("catalogue version"), default=1)
    status = models.CharField(
        _("status"), max_length=8, choices=PeriodStatus.choices, default=PeriodStatus.OPEN
    )
    self_due = models.DateField(_("self-assessment due"), null=True, blank=True)
    township_due = models.DateField(_("township assessment due"), null=True, blank=True)
    county_due = models.DateField(_("county review due"), null=True, blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("opened by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)

    objects = PeriodQuerySet.as_manager()

    class Meta:
        verbose_name = _("period")
        verbose_name_plural = _("periods")
        ordering = ["campaign", "starts_on"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "label"], name="period_unique_label"),
            models.CheckConstraint(
                condition=models.Q(label__regex=r"^[0-9]{4}Q[1-4]$"), name="period_label_format"
            ),
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")), name="period_dates_ordered"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=PeriodStatus.values), name="period_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign} {self.label}"


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
    def is_locked(self) -> bool:
        return self.stage == Stage.FINAL


class AssessmentEventKind(models.TextChoices):
    SUBMIT = "submit", _("Submitted")
    RETURN = "return", _("Returned")
    FINALISE = "finalise", _("Finalised")


class AssessmentEvent(models.Model):
    """A stage transition of an assessment: who moved it, from where to where, and why."""

    assessment = models.ForeignKey(
        Assessment, verbose_name=_("assessment"), on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(_("action"), max_length=16, choices=AssessmentEventKind.choices)
    from_stage = models.CharField(_("from stage"), max_length=16, choices=Stage.choices)
    to_stage = models.CharField(_("to stage"), max_length=16, choices=Stage.choices)
    reason = models.TextField(_("reason"), blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    at = models.DateTimeField(_("at"), default=timezone.now)

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
                condition=~models.Q(kind=AssessmentEventKind.RETURN) | ~models.Q(reason=""),
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
    source = models.CharField(_("source"), max_length=8, choices=ChangeSource.choices)
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
    kind = models.CharField(_("change"), max_length=8, choices=HoldingChangeKind.choices)
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


class RectificationStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("rectification", "Open")
    REPORTED = "reported", _("Reported done")
    VERIFIED = "verified", _("Verified")
    CLOSED = "closed", _("Closed (销号)")


class RectificationQuerySet(ScopedQuerySet):
    scope_code_path = "assessment__unit__code"

    def open(self):
        return self.exclude(status=RectificationStatus.CLOSED)


class RectificationItem(models.Model):
    """A lost-points entry (失分) from a final-stage deduction, with the person responsible (责任),
    the measure (措施) and the deadline (时限), followed until it is closed out (销号)."""

    assessment = models.ForeignKey(
        Assessment,
        verbose_name=_("assessment"),
        on_delete=models.CASCADE,
        related_name="rectifications",
    )
    indicator = models.ForeignKey(
        "campaigns.Indicator",
        verbose_name=_("indicator"),
        on_delete=models.PROTECT,
        related_name="rectifications",
    )
    points_lost = models.DecimalField(_("points lost"), max_digits=6, decimal_places=2)
    lost_note = models.TextField(_("why points were lost"), blank=True)
    responsible_person = models.CharField(_("responsible person"), max_length=64, blank=True)
    measure = models.TextField(_("measure"), blank=True)
    deadline = models.DateField(_("deadline"), null=True, blank=True)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=RectificationStatus.choices,
        default=RectificationStatus.OPEN,
    )
    report_note = models.TextField(_("report of completion"), blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reported by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reported_at = models.DateTimeField(_("reported at"), null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("verified by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("closed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    sent_back_reason = models.TextField(_("reason for sending back"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    objects = RectificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("rectification item")
        verbose_name_plural = _("rectification items")
        ordering = ["deadline", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["assessment", "indicator"], name="rectification_unique_per_indicator"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=RectificationStatus.values),
                name="rectification_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(points_lost__gte=0), name="rectification_points_not_negative"
            ),
            models.CheckConstraint(
                condition=~models.Q(status=RectificationStatus.CLOSED)
                | models.Q(closed_at__isnull=False),
                name="rectification_closed_has_time",
            ),
        ]
        indexes = [models.Index(fields=["status", "deadline"], name="rectification_status_due")]

    def __str__(self) -> str:
        return f"{self.assessment} {self.indicator.code}"


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
        choices=AdjustmentStatus.choices,
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
    action = models.CharField(_("proposed"), max_length=8, choices=ProposalAction.choices)
    override = models.CharField(
        _("decided instead"), max_length=8, choices=ProposalAction.choices, blank=True
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


class RectificationAction(models.TextChoices):
    ASSIGN = "assign", _("Assigned")
    REPORT = "report", _("Reported done")
    VERIFY = "verify", _("Verified")
    CLOSE = "close", _("Closed (销号)")
    SEND_BACK = "send_back", _("Sent back")


class RectificationEvent(models.Model):
    """One step of a rectification item: who did what, when, with what note or file."""

    item = models.ForeignKey(
        RectificationItem,
        verbose_name=_("rectification item"),
        on_delete=models.CASCADE,
        related_name="events",
    )
    action = models.CharField(_("action"), max_length=16, choices=RectificationAction.choices)
    from_status = models.CharField(
        _("from status"), max_length=16, choices=RectificationStatus.choices
    )
    to_status = models.CharField(_("to status"), max_length=16, choices=RectificationStatus.choices)
    note = models.TextField(_("note"), blank=True)
    attachment = models.FileField(_("attachment"), upload_to="rectification/%Y/%m/", blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("rectification event")
        verbose_name_plural = _("rectification events")
        ordering = ["item", "at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(action__in=RectificationAction.values),
                name="rectification_event_action_valid",
            ),
            models.CheckConstraint(
                condition=~models.Q(action=RectificationAction.SEND_BACK) | ~models.Q(note=""),
                name="rectification_send_back_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item_id} {self.get_action_display()}"


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ReportRunQuerySet(CoveringQuerySet):
    region_code_path = "campaign__region__code"


class ReportRun(models.Model):
    """One monthly analysis (月度分析) of a campaign: its figures, its .xlsx, and how the run
    went. One row per campaign and month: running a month again replaces it."""

    campaign = models.ForeignKey(
        "campaigns.Campaign",
        verbose_name=_("campaign"),
        on_delete=models.CASCADE,
        related_name="report_runs",
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month reported on."))
    status = models.CharField(
        _("status"), max_length=8, choices=JobStatus.choices, default=JobStatus.QUEUED
    )
    trigger = models.CharField(_("started by"), max_length=64, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    data = models.JSONField(_("figures"), default=dict, blank=True)
    file = models.FileField(_("file"), upload_to="reports/%Y/%m/", blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)

    objects = ReportRunQuerySet.as_manager()

    class Meta:
        verbose_name = _("monthly report")
        verbose_name_plural = _("monthly reports")
        ordering = ["-month", "campaign"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "month"], name="report_run_one_per_month"),
            models.CheckConstraint(
                condition=models.Q(status__in=JobStatus.values), name="report_run_status_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(status=JobStatus.DONE) | ~models.Q(file=""),
                name="report_run_done_has_file",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign} {self.month:%Y-%m}"


class ExportKind(models.TextChoices):
    SCORES = "scores", _("Score sheet")
    ROSTER = "roster", _("Roster of levels")
    LEDGER = "ledger", _("Rectification ledger")
    RANKING = "ranking", _("Township ranking")


class ExportJobQuerySet(models.QuerySet):
    def visible_to(self, user):
        """A user's download centre holds their own files only."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(requested_by=user)


class ExportJob(models.Model):
    """An on-demand Excel export: what was asked, its progress, and the finished file."""

    kind = models.CharField(_("kind"), max_length=8, choices=ExportKind.choices)
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        verbose_name=_("campaign"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    period = models.ForeignKey(
        Period,
        verbose_name=_("period"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    region = models.ForeignKey(
        "villages.Region",
        verbose_name=_("region"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.CASCADE,
        related_name="export_jobs",
    )
    status = models.CharField(
        _("status"), max_length=8, choices=JobStatus.choices, default=JobStatus.QUEUED
    )
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    error = models.TextField(_("error"), blank=True)
    file = models.FileField(_("file"), upload_to="exports/%Y/%m/", blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    objects = ExportJobQuerySet.as_manager()

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=ExportKind.values), name="export_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=JobStatus.values), name="export_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(progress__lte=100), name="export_progress_0_100"
            ),
            models.CheckConstraint(
                condition=~models.Q(status=JobStatus.DONE) | ~models.Q(file=""),
                name="export_done_has_file",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

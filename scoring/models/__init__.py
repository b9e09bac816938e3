"""What happened: periods, assessments and their scores per stage, the audit of every change,
flag/star holdings with their history, rectification items, and background jobs.

One module per subdomain; everything is re-exported here, so `scoring.models.X` stays the name
Django, migrations and the rest of the code use."""

from campaigns.stages import ScoreStage, Stage
from scoring.models.assessments import (
    Assessment,
    AssessmentEvent,
    AssessmentEventKind,
    AssessmentQuerySet,
    ChangeSource,
    Evidence,
    Score,
    ScoreChange,
    ScoreQuerySet,
)
from scoring.models.holdings import (
    AdjustmentProposal,
    AdjustmentProposalQuerySet,
    AdjustmentRun,
    AdjustmentRunQuerySet,
    AdjustmentStatus,
    Holding,
    HoldingChange,
    HoldingChangeKind,
    HoldingChangeQuerySet,
    HoldingQuerySet,
    ProposalAction,
)
from scoring.models.jobs import (
    ExportJob,
    ExportJobQuerySet,
    ExportKind,
    Job,
    JobStatus,
    ReportRun,
    ReportRunQuerySet,
)
from scoring.models.periods import (
    Period,
    PeriodQuerySet,
    PeriodStatus,
    period_label_validator,
)
from scoring.models.rectification import (
    RECTIFICATION_TRANSITIONS,
    RectificationAction,
    RectificationEvent,
    RectificationItem,
    RectificationQuerySet,
    RectificationStatus,
    overdue_q,
)

__all__ = [
    "RECTIFICATION_TRANSITIONS",
    "AdjustmentProposal",
    "AdjustmentProposalQuerySet",
    "AdjustmentRun",
    "AdjustmentRunQuerySet",
    "AdjustmentStatus",
    "Assessment",
    "AssessmentEvent",
    "AssessmentEventKind",
    "AssessmentQuerySet",
    "ChangeSource",
    "Evidence",
    "ExportJob",
    "ExportJobQuerySet",
    "ExportKind",
    "Holding",
    "HoldingChange",
    "HoldingChangeKind",
    "HoldingChangeQuerySet",
    "HoldingQuerySet",
    "Job",
    "JobStatus",
    "Period",
    "PeriodQuerySet",
    "PeriodStatus",
    "ProposalAction",
    "RectificationAction",
    "RectificationEvent",
    "RectificationItem",
    "RectificationQuerySet",
    "RectificationStatus",
    "ReportRun",
    "ReportRunQuerySet",
    "Score",
    "ScoreChange",
    "ScoreQuerySet",
    "ScoreStage",
    "Stage",
    "overdue_q",
    "period_label_validator",
]

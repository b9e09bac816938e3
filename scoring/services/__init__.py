"""Every write that matters in scoring: one transaction, validated, audited.

One module per subdomain (HackSoft's styleguide, zulip's `actions/`): scores, transitions,
periods, adjustment, rectification, sheets, jobs. The names are re-exported here so callers
write `services.scores_save(...)` without knowing which module holds it.
"""

from scoring.services.adjustment import (
    AdjustmentSummary,
    adjustment_confirm,
    adjustment_override,
    adjustment_propose,
)
from scoring.services.jobs import (
    SMALL_EXPORT_ROWS,
    export_job_execute,
    export_job_start,
    export_rows_estimate,
    export_write,
    report_run_execute,
    report_run_start,
)
from scoring.services.periods import (
    period_open,
)
from scoring.services.rectification import (
    RECTIFICATION_STEPS,
    rectification_allowed,
    rectification_step,
)
from scoring.services.scores import (
    EVIDENCE_MAX_BYTES,
    EVIDENCE_TYPES,
    SCORE_UPDATE_FIELDS,
    SaveResult,
    check_attachment,
    evidence_attach,
    scores_save,
)
from scoring.services.transitions import (
    assessment_return,
    assessment_submit,
    assessments_submit,
    scored_counts,
)

__all__ = [
    "EVIDENCE_MAX_BYTES",
    "EVIDENCE_TYPES",
    "RECTIFICATION_STEPS",
    "SCORE_UPDATE_FIELDS",
    "SMALL_EXPORT_ROWS",
    "AdjustmentSummary",
    "SaveResult",
    "adjustment_confirm",
    "adjustment_override",
    "adjustment_propose",
    "assessment_return",
    "assessment_submit",
    "assessments_submit",
    "check_attachment",
    "evidence_attach",
    "export_job_execute",
    "export_job_start",
    "export_rows_estimate",
    "export_write",
    "period_open",
    "rectification_allowed",
    "rectification_step",
    "report_run_execute",
    "report_run_start",
    "scored_counts",
    "scores_save",
]

"""Every write that matters in scoring: one transaction, validated, audited.

One module per subdomain (HackSoft's styleguide, zulip's `actions/`): scores, transitions,
periods, adjustment, rectification, sheets, jobs. The names are re-exported here so callers
write `services.scores_save(...)` without knowing which module holds it."""

from scoring.services.adjustment import (
    AdjustmentSummary,
    adjustment_confirm,
    adjustment_override,
    adjustment_propose,
)
from scoring.services.jobs import (
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
    STEP_ACTIONS,
    rectification_allowed,
    rectification_step,
)
from scoring.services.scores import (
    SCORE_UPDATE_FIELDS,
    SaveResult,
    check_attachment,
    evidence_attach,
    lock_assessments,
    scores_save,
)
from scoring.services.sheets import (
    ImportChange,
    ImportResult,
    scores_import,
)
from scoring.services.transitions import (
    assessment_reopen,
    assessment_return,
    assessment_submit,
    assessment_submit_on_behalf,
    assessments_submit,
    scored_counts,
)

__all__ = [
    "SCORE_UPDATE_FIELDS",
    "STEP_ACTIONS",
    "AdjustmentSummary",
    "ImportChange",
    "ImportResult",
    "SaveResult",
    "adjustment_confirm",
    "adjustment_override",
    "adjustment_propose",
    "assessment_reopen",
    "assessment_return",
    "assessment_submit",
    "assessment_submit_on_behalf",
    "assessments_submit",
    "check_attachment",
    "evidence_attach",
    "export_job_execute",
    "export_job_start",
    "export_rows_estimate",
    "export_write",
    "lock_assessments",
    "period_open",
    "rectification_allowed",
    "rectification_step",
    "report_run_execute",
    "report_run_start",
    "scored_counts",
    "scores_import",
    "scores_save",
]

from __future__ import annotations

from django.urls import path, register_converter

from scoring.views import (
    adjustment,
    dashboard,
    department,
    entry,
    navigation,
    rectification,
    reports,
    sheets,
    targets,
    work,
)

app_name = "scoring"


class PeriodLabelConverter:
    """A period label such as 2026Q3; anything else is not a period (so not a 404 lookup)."""

    regex = r"[0-9]{4}Q[1-4]"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(PeriodLabelConverter, "period")

urlpatterns = [
    path("campaigns/<slug:slug>/periods/", work.period_list, name="period_list"),
    path("campaigns/<slug:slug>/<period:label>/", work.work_list, name="work_list"),
    # A campaign's page of its default period (the menu's links; scoring.views.navigation).
    path("campaigns/<slug:slug>/work/", navigation.work_current, name="work_current"),
    path("campaigns/<slug:slug>/ranking/", navigation.ranking_latest, name="ranking_latest"),
    path(
        "campaigns/<slug:slug>/department/",
        navigation.department_current,
        name="department_current",
    ),
    path(
        "campaigns/<slug:slug>/adjustments/",
        navigation.adjustments_latest,
        name="adjustments_latest",
    ),
    path("campaigns/<slug:slug>/<period:label>/submit/", work.bulk_submit, name="bulk_submit"),
    path("campaigns/<slug:slug>/<period:label>/gaps/", work.gaps, name="gaps"),
    path(
        "campaigns/<slug:slug>/<period:label>/department/",
        department.department_indicators,
        name="department_indicators",
    ),
    path(
        "campaigns/<slug:slug>/<period:label>/sheet.xlsx",
        sheets.sheet_template,
        name="sheet_template",
    ),
    path("campaigns/<slug:slug>/<period:label>/upload/", sheets.sheet_upload, name="sheet_upload"),
    path("assessments/<int:pk>/", entry.assessment_entry, name="entry"),
    path("assessments/<int:pk>/rows/<int:indicator_id>/", entry.score_row, name="score_row"),
    path("assessments/<int:pk>/submit/", entry.submit, name="submit"),
    path("assessments/<int:pk>/return/", entry.return_assessment, name="return"),
    path("assessments/<int:pk>/reopen/", entry.reopen, name="reopen"),
    path("assessments/<int:pk>/on-behalf/", entry.submit_on_behalf, name="submit_on_behalf"),
    path("assessments/<int:pk>/history/", entry.history, name="history"),
    path(
        "assessments/<int:pk>/rows/<int:indicator_id>/evidence/",
        entry.evidence_upload,
        name="evidence_upload",
    ),
    path(
        "assessments/<int:pk>/rows/<int:indicator_id>/evidence/list/",
        entry.evidence_list,
        name="evidence_list",
    ),
    path("evidence/<int:evidence_id>/", entry.evidence_download, name="evidence_download"),
    path(
        "campaigns/<slug:slug>/<period:label>/adjustments/",
        adjustment.adjustment_list,
        name="adjustment_list",
    ),
    path("adjustments/<int:pk>/", adjustment.adjustment_detail, name="adjustment_detail"),
    path(
        "adjustments/<int:pk>/confirm/",
        adjustment.adjustment_confirm_view,
        name="adjustment_confirm",
    ),
    path(
        "adjustments/<int:pk>/proposals/<int:proposal_id>/",
        adjustment.adjustment_override_view,
        name="adjustment_override",
    ),
    path("campaigns/<slug:slug>/targets/", targets.targets, name="targets"),
    path("campaigns/<slug:slug>/targets/units/", targets.unit_targets, name="unit_targets"),
    path("campaigns/<slug:slug>/<period:label>/ranking/", targets.ranking, name="ranking"),
    path(
        "campaigns/<slug:slug>/rectification/",
        rectification.rectification_list,
        name="rectification_list",
    ),
    path(
        "rectification/<int:pk>/", rectification.rectification_detail, name="rectification_detail"
    ),
    path(
        "rectification/files/<int:event_id>/",
        rectification.rectification_attachment,
        name="rectification_attachment",
    ),
    path(
        "assessments/<int:assessment_id>/notice/",
        rectification.rectification_notice,
        name="rectification_notice",
    ),
    path("campaigns/<slug:slug>/dashboard/", dashboard.dashboard, name="dashboard"),
    path("campaigns/<slug:slug>/reports/", reports.report_list, name="report_list"),
    path("reports/<int:pk>/", reports.report_detail, name="report_detail"),
    path("reports/<int:pk>/download/", reports.report_download, name="report_download"),
    path("campaigns/<slug:slug>/exports/", reports.export_start, name="export_start"),
    path("exports/<int:pk>/", reports.export_detail, name="export_detail"),
    path("exports/<int:pk>/download/", reports.export_download, name="export_download"),
    path("downloads/", reports.downloads, name="downloads"),
]

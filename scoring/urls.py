from __future__ import annotations

from django.urls import path, register_converter

from scoring import views, views_decisions, views_reports

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
    path("campaigns/<slug:slug>/periods/", views.period_list, name="period_list"),
    path("campaigns/<slug:slug>/<period:label>/", views.work_list, name="work_list"),
    path("campaigns/<slug:slug>/<period:label>/submit/", views.bulk_submit, name="bulk_submit"),
    path("campaigns/<slug:slug>/<period:label>/gaps/", views.gaps, name="gaps"),
    path(
        "campaigns/<slug:slug>/<period:label>/sheet.xlsx",
        views.sheet_template,
        name="sheet_template",
    ),
    path("campaigns/<slug:slug>/<period:label>/upload/", views.sheet_upload, name="sheet_upload"),
    path("assessments/<int:pk>/", views.assessment_entry, name="entry"),
    path("assessments/<int:pk>/rows/<int:indicator_id>/", views.score_row, name="score_row"),
    path("assessments/<int:pk>/submit/", views.submit, name="submit"),
    path("assessments/<int:pk>/return/", views.return_assessment, name="return"),
    path("assessments/<int:pk>/history/", views.history, name="history"),
    path(
        "assessments/<int:pk>/rows/<int:indicator_id>/evidence/",
        views.evidence_upload,
        name="evidence_upload",
    ),
    path(
        "assessments/<int:pk>/rows/<int:indicator_id>/evidence/list/",
        views.evidence_list,
        name="evidence_list",
    ),
    path("evidence/<int:evidence_id>/", views.evidence_download, name="evidence_download"),
    path(
        "campaigns/<slug:slug>/<period:label>/adjustments/",
        views_decisions.adjustment_list,
        name="adjustment_list",
    ),
    path("adjustments/<int:pk>/", views_decisions.adjustment_detail, name="adjustment_detail"),
    path(
        "adjustments/<int:pk>/confirm/",
        views_decisions.adjustment_confirm_view,
        name="adjustment_confirm",
    ),
    path(
        "adjustments/<int:pk>/proposals/<int:proposal_id>/",
        views_decisions.adjustment_override_view,
        name="adjustment_override",
    ),
    path("campaigns/<slug:slug>/targets/", views_decisions.targets, name="targets"),
    path("campaigns/<slug:slug>/targets/units/", views_decisions.unit_targets, name="unit_targets"),
    path("campaigns/<slug:slug>/<period:label>/ranking/", views_decisions.ranking, name="ranking"),
    path(
        "campaigns/<slug:slug>/rectification/",
        views_decisions.rectification_list,
        name="rectification_list",
    ),
    path(
        "rectification/<int:pk>/", views_decisions.rectification_detail, name="rectification_detail"
    ),
    path(
        "rectification/files/<int:event_id>/",
        views_decisions.rectification_attachment,
        name="rectification_attachment",
    ),
    path(
        "assessments/<int:assessment_id>/notice/",
        views_decisions.rectification_notice,
        name="rectification_notice",
    ),
    path("campaigns/<slug:slug>/dashboard/", views_decisions.dashboard, name="dashboard"),
    path("campaigns/<slug:slug>/reports/", views_reports.report_list, name="report_list"),
    path("reports/<int:pk>/", views_reports.report_detail, name="report_detail"),
    path("reports/<int:pk>/download/", views_reports.report_download, name="report_download"),
    path("campaigns/<slug:slug>/exports/", views_reports.export_start, name="export_start"),
    path("exports/<int:pk>/", views_reports.export_detail, name="export_detail"),
    path("exports/<int:pk>/download/", views_reports.export_download, name="export_download"),
    path("downloads/", views_reports.downloads, name="downloads"),
]

from __future__ import annotations

from django.urls import path

from scoring import views

app_name = "scoring"

urlpatterns = [
    path("campaigns/<slug:slug>/periods/", views.period_list, name="period_list"),
    path("campaigns/<slug:slug>/<str:label>/", views.work_list, name="work_list"),
    path("campaigns/<slug:slug>/<str:label>/submit/", views.bulk_submit, name="bulk_submit"),
    path("campaigns/<slug:slug>/<str:label>/gaps/", views.gaps, name="gaps"),
    path(
        "campaigns/<slug:slug>/<str:label>/sheet.xlsx", views.sheet_template, name="sheet_template"
    ),
    path("campaigns/<slug:slug>/<str:label>/upload/", views.sheet_upload, name="sheet_upload"),
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
]

from __future__ import annotations

from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from scoring.models import (
    Assessment,
    AssessmentEvent,
    Holding,
    HoldingChange,
    Period,
    RectificationItem,
    Score,
    ScoreChange,
)


@admin.register(Period)
class PeriodAdmin(admin.ModelAdmin):
    list_display = [
        "label",
        "campaign",
        "starts_on",
        "ends_on",
        "status",
        "self_due",
        "township_due",
        "county_due",
    ]
    list_filter = ["campaign", "status"]


@admin.register(Assessment)
class AssessmentAdmin(admin.ModelAdmin):
    list_display = ["unit", "period", "stage", "updated_at"]
    list_filter = ["period__campaign", "period", "stage"]
    search_fields = ["unit__name", "unit__code"]
    list_select_related = ["unit", "period__campaign"]
    raw_id_fields = ["unit", "period", "returned_by", "finalised_by"]


@admin.register(AssessmentEvent)
class AssessmentEventAdmin(admin.ModelAdmin):
    list_display = ["assessment", "kind", "from_stage", "to_stage", "actor", "at"]
    list_filter = ["kind"]
    raw_id_fields = ["assessment", "actor"]
    list_select_related = ["assessment__unit", "assessment__period", "actor"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Scores and their audit change only through the scoring services, never by hand here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return False


@admin.register(Score)
class ScoreAdmin(ReadOnlyAdmin):
    list_display = [
        "assessment",
        "indicator",
        "stage",
        "value",
        "vetoed",
        "updated_by",
        "updated_at",
    ]
    list_filter = ["stage"]
    search_fields = ["assessment__unit__name", "indicator__code"]
    list_select_related = ["assessment__unit", "assessment__period", "indicator", "updated_by"]


@admin.register(ScoreChange)
class ScoreChangeAdmin(ReadOnlyAdmin):
    list_display = [
        "assessment",
        "indicator",
        "stage",
        "old_value",
        "new_value",
        "changed_by",
        "changed_at",
        "source",
        "after_submission",
    ]
    list_filter = ["stage", "source", "after_submission"]
    list_select_related = ["assessment__unit", "assessment__period", "indicator", "changed_by"]


@admin.register(Holding)
class HoldingAdmin(admin.ModelAdmin):
    list_display = ["unit", "dimension", "since_period", "since"]
    list_filter = ["dimension__campaign", "dimension"]
    list_select_related = ["unit", "dimension", "since_period"]
    raw_id_fields = ["unit"]


@admin.register(HoldingChange)
class HoldingChangeAdmin(ReadOnlyAdmin):
    list_display = ["unit", "dimension", "period", "kind", "score", "decided_by", "decided_at"]
    list_filter = ["kind", "period"]
    list_select_related = ["unit", "dimension", "period", "decided_by"]


@admin.register(RectificationItem)
class RectificationItemAdmin(admin.ModelAdmin):
    list_display = [
        "assessment",
        "indicator",
        "points_lost",
        "responsible_person",
        "deadline",
        "status",
    ]
    list_filter = ["status"]
    list_select_related = ["assessment__unit", "assessment__period", "indicator"]
    raw_id_fields = ["assessment", "indicator", "reported_by", "verified_by", "closed_by"]

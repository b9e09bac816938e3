from __future__ import annotations

from django.contrib import admin

from campaigns.models import Campaign, Dimension, Indicator, LevelTarget, UnitTarget


class DimensionInline(admin.TabularInline):
    model = Dimension
    extra = 0


class LevelTargetInline(admin.TabularInline):
    model = LevelTarget
    extra = 0
    raw_id_fields = ["region"]


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "scheme", "year", "region", "status", "threshold"]
    list_filter = ["scheme", "status", "year"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    raw_id_fields = ["region"]
    inlines = [DimensionInline, LevelTargetInline]


class IndicatorInline(admin.TabularInline):
    model = Indicator
    extra = 0
    fields = [
        "code",
        "title",
        "max_points",
        "kind",
        "lead_department",
        "order",
        "version_from",
        "version_to",
    ]


@admin.register(Dimension)
class DimensionAdmin(admin.ModelAdmin):
    list_display = ["name", "campaign", "code", "applies_to", "order", "threshold", "bonus_cap"]
    list_filter = ["campaign", "applies_to"]
    list_select_related = ["campaign"]
    inlines = [IndicatorInline]


@admin.register(Indicator)
class IndicatorAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "title",
        "dimension",
        "kind",
        "max_points",
        "lead_department",
        "version_from",
        "version_to",
    ]
    list_filter = ["dimension__campaign", "kind", "lead_department"]
    search_fields = ["code", "title"]
    list_select_related = ["dimension", "lead_department"]


@admin.register(UnitTarget)
class UnitTargetAdmin(admin.ModelAdmin):
    list_display = ["unit", "campaign", "recommended_level", "decided_level"]
    list_filter = ["campaign"]
    search_fields = ["unit__name", "unit__code"]
    list_select_related = ["unit", "campaign"]
    raw_id_fields = ["unit", "recommended_by", "decided_by"]

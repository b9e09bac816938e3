from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from villages.models import Department, Grid, Region, Unit, User


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "level", "parent"]
    list_filter = ["level"]
    search_fields = ["code", "name"]
    list_select_related = ["parent"]
    raw_id_fields = ["parent"]


class GridInline(admin.TabularInline):
    model = Grid
    extra = 0


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "township", "population", "party_members", "is_active"]
    list_filter = ["kind", "is_active", "township__parent"]
    search_fields = ["code", "name", "secretary_name"]
    list_select_related = ["township"]
    raw_id_fields = ["township"]
    inlines = [GridInline]


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["name", "region"]
    search_fields = ["name"]
    list_select_related = ["region"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "first_name", "role", "region", "unit", "department", "is_active"]
    list_filter = ["role", "is_active", "is_staff"]
    list_select_related = ["region", "unit", "department"]
    raw_id_fields = ["region", "unit"]
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (_("Role and scope"), {"fields": ["role", "region", "unit", "department", "phone"]}),
    )

"""The administrative tree (regions, units, grids), lead departments and users with their scope."""

from __future__ import annotations

from typing import Self

from django.contrib.auth.models import AbstractUser, AnonymousUser, UserManager
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from villages.access import (
    ALL_SCOPE,
    NO_SCOPE,
    PREFIX_LENGTH,
    CoveringQuerySet,
    Scope,
    ScopedQuerySet,
    ancestor_codes,
    code_prefix,
    scope_for,
)

division_code_validator = RegexValidator(
    r"^\d{12}$", _("A division code is exactly 12 digits (统计用区划代码).")
)


class RegionLevel(models.TextChoices):
    PROVINCE = "province", _("Province")
    CITY = "city", _("City")
    COUNTY = "county", _("County")
    TOWNSHIP = "township", _("Township")


# Which level may sit directly under which.
PARENT_LEVEL = {
    RegionLevel.CITY: RegionLevel.PROVINCE,
    RegionLevel.COUNTY: RegionLevel.CITY,
    RegionLevel.TOWNSHIP: RegionLevel.COUNTY,
}


class RegionQuerySet(ScopedQuerySet):
    scope_code_path = "code"

    def townships(self) -> Self:
        return self.filter(level=RegionLevel.TOWNSHIP)


class Region(models.Model):
    """A province, city (市), county (县/市/区) or township (乡/镇/街道).

    The 12-digit division code is the natural key; a region's code shares its parent's prefix,
    which is what scope filtering relies on (see villages.access).
    """

    code = models.CharField(
        _("division code"), max_length=12, unique=True, validators=[division_code_validator]
    )
    name = models.CharField(_("name"), max_length=64)
    level = models.CharField(_("level"), max_length=16, choices=RegionLevel)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent region"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )

    objects = RegionQuerySet.as_manager()

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(code__regex=r"^[0-9]{12}$"), name="region_code_12_digits"
            ),
            models.CheckConstraint(
                condition=models.Q(level__in=RegionLevel.values), name="region_level_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(level=RegionLevel.PROVINCE, parent__isnull=True)
                | (~models.Q(level=RegionLevel.PROVINCE) & models.Q(parent__isnull=False)),
                name="region_parent_matches_level",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def prefix(self) -> str:
        return code_prefix(self.code, self.level)

    def clean(self) -> None:
        super().clean()
        if not self.code or not self.level:
            return
        length = PREFIX_LENGTH[self.level]
        if self.code[length:] != "0" * (12 - length):
            raise ValidationError(
                {
                    "code": _("A %(level)s code ends with %(n)d zeros.")
                    % {"level": self.get_level_display(), "n": 12 - length}
                }
            )
        expected_parent = PARENT_LEVEL.get(self.level)
        if expected_parent and self.parent_id:
            if self.parent.level != expected_parent:
                raise ValidationError({"parent": _("The parent region has the wrong level.")})
            if not self.code.startswith(self.parent.prefix):
                raise ValidationError(
                    {
                        "code": _("The code must start with the parent region's code %(p)s.")
                        % {"p": self.parent.prefix}
                    }
                )


class UnitKind(models.TextChoices):
    VILLAGE = "village", _("Village")
    COMMUNITY = "community", _("Community")


class UnitQuerySet(ScopedQuerySet):
    scope_code_path = "code"

    def active(self) -> Self:
        return self.filter(is_active=True)


class Unit(models.Model):
    """A village (村) or community (社区) under a township: what earns flags or stars."""

    code = models.CharField(
        _("division code"), max_length=12, unique=True, validators=[division_code_validator]
    )
    name = models.CharField(_("name"), max_length=64)
    kind = models.CharField(_("kind"), max_length=16, choices=UnitKind)
    township = models.ForeignKey(
        Region,
        verbose_name=_("township"),
        on_delete=models.PROTECT,
        related_name="units",
        limit_choices_to={"level": RegionLevel.TOWNSHIP},
    )
    population = models.PositiveIntegerField(_("population"), null=True, blank=True)
    households = models.PositiveIntegerField(_("households"), null=True, blank=True)
    party_members = models.PositiveIntegerField(_("party members"), null=True, blank=True)
    secretary_name = models.CharField(_("party secretary"), max_length=32, blank=True)
    secretary_phone = models.CharField(_("secretary phone"), max_length=20, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    objects = UnitQuerySet.as_manager()

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(code__regex=r"^[0-9]{12}$"), name="unit_code_12_digits"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=UnitKind.values), name="unit_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        if self.code and self.township_id:
            if self.township.level != RegionLevel.TOWNSHIP:
                raise ValidationError({"township": _("A unit belongs to a township.")})
            if not self.code.startswith(self.township.prefix):
                raise ValidationError(
                    {
                        "code": _("The code must start with the township's code %(p)s.")
                        % {"p": self.township.prefix}
                    }
                )


class Grid(models.Model):
    """A grid (网格) inside a unit, with the person in charge."""

    unit = models.ForeignKey(
        Unit, verbose_name=_("unit"), on_delete=models.CASCADE, related_name="grids"
    )
    name = models.CharField(_("name"), max_length=64)
    leader_name = models.CharField(_("grid leader"), max_length=32, blank=True)
    households = models.PositiveIntegerField(_("households"), null=True, blank=True)

    class Meta:
        verbose_name = _("grid")
        verbose_name_plural = _("grids")
        ordering = ["unit", "name"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "name"], name="grid_unique_name_per_unit")
        ]

    def __str__(self) -> str:
        return f"{self.unit} {self.name}"


class DepartmentQuerySet(CoveringQuerySet):
    """Departments of the regions that contain the user's scope, or inside it."""

    region_code_path = "region__code"


class Department(models.Model):
    """A lead department (牵头部门, e.g. 农业农村局) of a county that checks its own indicators."""

    region = models.ForeignKey(
        Region, verbose_name=_("region"), on_delete=models.PROTECT, related_name="departments"
    )
    name = models.CharField(_("name"), max_length=64)

    objects = DepartmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("lead department")
        verbose_name_plural = _("lead departments")
        ordering = ["region", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["region", "name"], name="department_unique_name_per_region"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    COUNTY_STAFF = "county_staff", _("County organisation department staff")
    TOWNSHIP_OFFICIAL = "township_official", _("Township official")
    VILLAGE_SECRETARY = "village_secretary", _("Village or community secretary")
    DEPARTMENT = "department", _("Lead department")
    LEADER = "leader", _("Leader")


class UserQuerySet(ScopedQuerySet):
    """Users whose own place lies inside the viewer's scope (for staff directories)."""

    def visible_to(self, user: User | AnonymousUser) -> Self:
        scope = scope_for(user)
        if scope.everything:
            return self.all()
        if scope.nothing:
            return self.none()
        prefix = scope.prefix
        return self.filter(
            models.Q(region__code__startswith=prefix)
            | models.Q(unit__code__startswith=prefix)
            | models.Q(department__region__code__startswith=prefix)
        )


class ScopedUserManager(UserManager.from_queryset(UserQuerySet)):
    pass


class User(AbstractUser):
    """A person who signs in: a role and the one place (region, unit or department) they act for.

    Superusers see everything (set-up and support); everyone else is cut to their scope.
    """

    role = models.CharField(_("role"), max_length=32, choices=Role, blank=True)
    region = models.ForeignKey(
        Region,
        verbose_name=_("region"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
        help_text=_("County for county staff and leaders, township for township officials."),
    )
    unit = models.ForeignKey(
        Unit,
        verbose_name=_("unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
        help_text=_("For village or community secretaries."),
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("lead department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
    )
    phone = models.CharField(_("phone"), max_length=20, blank=True)

    objects = ScopedUserManager()

    class Meta(AbstractUser.Meta):
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role="") | models.Q(role__in=Role.values), name="user_role_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(
                    role__in=[Role.COUNTY_STAFF, Role.TOWNSHIP_OFFICIAL, Role.LEADER]
                )
                | models.Q(region__isnull=False, unit__isnull=True, department__isnull=True),
                name="user_regional_role_has_region",
            ),
            models.CheckConstraint(
                condition=~models.Q(role=Role.VILLAGE_SECRETARY)
                | models.Q(unit__isnull=False, region__isnull=True, department__isnull=True),
                name="user_secretary_has_unit",
            ),
            models.CheckConstraint(
                condition=~models.Q(role=Role.DEPARTMENT)
                | models.Q(department__isnull=False, region__isnull=True, unit__isnull=True),
                name="user_department_role_has_department",
            ),
        ]

    def clean(self) -> None:
        super().clean()
        expected = {
            Role.COUNTY_STAFF: {RegionLevel.COUNTY, RegionLevel.CITY},
            Role.LEADER: {RegionLevel.COUNTY, RegionLevel.CITY},
            Role.TOWNSHIP_OFFICIAL: {RegionLevel.TOWNSHIP},
        }.get(self.role)
        if expected and self.region_id and self.region.level not in expected:
            raise ValidationError({"region": _("This role acts for a region of another level.")})

    def compute_scope(self) -> Scope:
        """Build the user's scope from their role and place (one query for the place)."""
        if self.is_superuser:
            return ALL_SCOPE
        if self.role in (Role.COUNTY_STAFF, Role.LEADER, Role.TOWNSHIP_OFFICIAL) and self.region_id:
            code, prefix = self.region.code, self.region.prefix
        elif self.role == Role.VILLAGE_SECRETARY and self.unit_id:
            code = prefix = self.unit.code
        elif self.role == Role.DEPARTMENT and self.department_id:
            region = Region.objects.get(departments=self.department_id)
            code, prefix = region.code, region.prefix
        else:
            return NO_SCOPE
        return Scope(
            code=code,
            prefix=prefix,
            role=self.role,
            read_only=self.role == Role.LEADER,
            ancestors=ancestor_codes(code),
        )

    @property
    def scope_place(self) -> Unit | Department | Region | None:
        """The region, unit or department the user acts for (for display)."""
        return self.unit or self.department or self.region

"""Constraints and validation of regions, units, departments, grids and users."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from tests import factories
from tests.helpers import violates
from villages.models import Region, RegionLevel, Role, Unit, User

pytestmark = pytest.mark.django_db


class TestRegionConstraints:
    @pytest.mark.parametrize("code", ["41052710000", "41052710000a", "41 527100000"])
    def test_code_is_12_digits(self, county, code):
        with violates("region_code_12_digits"):
            Region.objects.create(code=code, name="坏镇", level=RegionLevel.TOWNSHIP, parent=county)

    def test_code_is_unique(self, township_a):
        with violates("villages_region_code_key", unique=True):
            Region.objects.create(
                code=township_a.code,
                name="重复",
                level=RegionLevel.TOWNSHIP,
                parent=township_a.parent,
            )

    def test_level_is_a_known_one(self, county):
        with violates("region_level_valid"):
            Region.objects.create(code="410527102000", name="坏镇", level="village", parent=county)

    def test_only_a_province_has_no_parent(self, db):
        with violates("region_parent_matches_level"):
            Region.objects.create(code="410600000000", name="鹤壁市", level=RegionLevel.CITY)

    def test_a_province_has_no_parent(self, county):
        with violates("region_parent_matches_level"):
            Region.objects.create(
                code="130000000000", name="河北省", level=RegionLevel.PROVINCE, parent=county
            )

    def test_province_without_parent_is_fine(self, db):
        Region.objects.create(code="130000000000", name="河北省", level=RegionLevel.PROVINCE)


class TestRegionClean:
    def test_consistent_township_is_valid(self, county):
        Region(
            code="410527102000", name="后河镇", level=RegionLevel.TOWNSHIP, parent=county
        ).full_clean()

    def test_code_not_under_parent_prefix(self, county):
        region = Region(
            code="410528102000", name="外县镇", level=RegionLevel.TOWNSHIP, parent=county
        )
        with pytest.raises(ValidationError) as excinfo:
            region.clean()
        assert "code" in excinfo.value.message_dict

    def test_code_does_not_end_with_the_level_zeros(self, county):
        region = Region(code="410527102001", name="坏镇", level=RegionLevel.TOWNSHIP, parent=county)
        with pytest.raises(ValidationError) as excinfo:
            region.clean()
        assert "code" in excinfo.value.message_dict

    def test_county_code_with_township_digits(self, county):
        region = Region(
            code="410528100000", name="坏县", level=RegionLevel.COUNTY, parent=county.parent
        )
        with pytest.raises(ValidationError) as excinfo:
            region.clean()
        assert "code" in excinfo.value.message_dict

    def test_parent_of_the_wrong_level(self, county):
        city = county.parent
        region = Region(code="410527102000", name="跳级镇", level=RegionLevel.TOWNSHIP, parent=city)
        with pytest.raises(ValidationError) as excinfo:
            region.clean()
        assert "parent" in excinfo.value.message_dict

    def test_prefix_is_the_level_digits(self, county, township_a):
        assert county.prefix == "410527"
        assert township_a.prefix == "410527100"
        assert county.parent.prefix == "4105"
        assert county.parent.parent.prefix == "41"


class TestUnitConstraints:
    def test_code_is_unique(self, unit_a):
        with violates("villages_unit_code_key", unique=True):
            factories.UnitFactory(township=unit_a.township, code=unit_a.code)

    def test_code_is_12_digits(self, township_a):
        with violates("unit_code_12_digits"):
            factories.UnitFactory(township=township_a, code="41052710020")

    def test_kind_is_a_known_one(self, township_a):
        with violates("unit_kind_valid"):
            factories.UnitFactory(township=township_a, kind="hamlet")

    def test_grid_name_unique_per_unit(self, unit_a, unit_b):
        factories.GridFactory(unit=unit_a, name="一网格")
        factories.GridFactory(unit=unit_b, name="一网格")
        with violates("grid_unique_name_per_unit", unique=True):
            factories.GridFactory(unit=unit_a, name="一网格")


class TestUnitClean:
    def test_consistent_unit_is_valid(self, township_a):
        Unit(code="410527100201", name="东街村", kind="village", township=township_a).full_clean()

    def test_code_not_under_township_prefix(self, township_a):
        unit = Unit(code="410527101201", name="错村", kind="village", township=township_a)
        with pytest.raises(ValidationError) as excinfo:
            unit.clean()
        assert "code" in excinfo.value.message_dict

    def test_unit_under_a_county(self, county):
        unit = Unit(code="410527100201", name="错村", kind="village", township=county)
        with pytest.raises(ValidationError) as excinfo:
            unit.clean()
        assert "township" in excinfo.value.message_dict


class TestDepartmentConstraints:
    def test_name_unique_per_region(self, department):
        factories.DepartmentFactory(region=factories.CityFactory(), name=department.name)
        with violates("department_unique_name_per_region", unique=True):
            factories.DepartmentFactory(region=department.region, name=department.name)


class TestUserConstraints:
    def test_role_is_a_known_one(self, county):
        with violates("user_role_valid"):
            factories.UserFactory(role="mayor")

    @pytest.mark.parametrize("role", [Role.COUNTY_STAFF, Role.TOWNSHIP_OFFICIAL, Role.LEADER])
    def test_regional_role_needs_a_region(self, db, role):
        with violates("user_regional_role_has_region"):
            factories.UserFactory(role=role)

    def test_regional_role_has_no_unit(self, county, unit_a):
        with violates("user_regional_role_has_region"):
            factories.CountyStaffFactory(region=county, unit=unit_a)

    def test_regional_role_has_no_department(self, county, department):
        with violates("user_regional_role_has_region"):
            factories.LeaderFactory(region=county, department=department)

    def test_secretary_needs_a_unit(self, db):
        with violates("user_secretary_has_unit"):
            factories.UserFactory(role=Role.VILLAGE_SECRETARY)

    def test_secretary_has_no_region(self, unit_a):
        with violates("user_secretary_has_unit"):
            factories.VillageSecretaryFactory(unit=unit_a, region=unit_a.township)

    def test_department_role_needs_a_department(self, db):
        with violates("user_department_role_has_department"):
            factories.UserFactory(role=Role.DEPARTMENT)

    def test_department_role_has_no_region(self, department):
        with violates("user_department_role_has_department"):
            factories.DepartmentUserFactory(department=department, region=department.region)

    def test_no_role_may_have_no_place(self, no_role_user):
        assert no_role_user.role == ""
        assert no_role_user.scope_place is None

    def test_base_users_pass_full_validation(self, users):
        for user in users.values():
            user.full_clean()


class TestUserClean:
    @pytest.mark.parametrize("role", [Role.COUNTY_STAFF, Role.LEADER])
    def test_county_role_on_a_township(self, township_a, role):
        user = User(username="x", role=role, region=township_a)
        with pytest.raises(ValidationError) as excinfo:
            user.clean()
        assert "region" in excinfo.value.message_dict

    def test_township_official_on_a_county(self, county):
        user = User(username="x", role=Role.TOWNSHIP_OFFICIAL, region=county)
        with pytest.raises(ValidationError) as excinfo:
            user.clean()
        assert "region" in excinfo.value.message_dict

    @pytest.mark.parametrize(
        ("role", "place"),
        [
            (Role.COUNTY_STAFF, "county"),
            (Role.COUNTY_STAFF, "city"),
            (Role.LEADER, "county"),
            (Role.TOWNSHIP_OFFICIAL, "township"),
        ],
    )
    def test_matching_level_is_valid(self, township_a, role, place):
        region = {
            "township": township_a,
            "county": township_a.parent,
            "city": township_a.parent.parent,
        }[place]
        User(username="x", role=role, region=region).clean()

    def test_scope_place_is_the_unit_department_or_region(
        self, village_secretary, department_user, township_official
    ):
        assert village_secretary.scope_place == village_secretary.unit
        assert department_user.scope_place == department_user.department
        assert township_official.scope_place == township_official.region

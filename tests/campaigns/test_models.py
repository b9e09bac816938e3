"""Constraints and small behaviour of campaigns, dimensions, indicators and targets."""

from __future__ import annotations

from decimal import Decimal

import pytest

from campaigns.models import Campaign, Indicator, IndicatorKind
from scoring.models import ScoreStage
from tests import factories
from tests.helpers import violates

pytestmark = pytest.mark.django_db


class TestIndicatorPointsMatchKind:
    @pytest.mark.parametrize(
        ("kind", "points"),
        [
            (IndicatorKind.VETO, "0"),
            (IndicatorKind.POINTS, "0.5"),
            (IndicatorKind.POINTS, "20"),
            (IndicatorKind.BONUS, "2"),
        ],
    )
    def test_allowed(self, kind, points):
        factories.IndicatorFactory(kind=kind, max_points=Decimal(points))

    @pytest.mark.parametrize(
        ("kind", "points"),
        [
            (IndicatorKind.VETO, "5"),
            (IndicatorKind.POINTS, "0"),
            (IndicatorKind.BONUS, "0"),
            (IndicatorKind.POINTS, "-1"),
        ],
    )
    def test_refused(self, kind, points):
        dimension = factories.DimensionFactory()
        with violates("indicator_points_match_kind"):
            factories.IndicatorFactory(dimension=dimension, kind=kind, max_points=Decimal(points))

    def test_kind_is_a_known_one(self):
        dimension = factories.DimensionFactory()
        with violates("indicator_kind_valid"):
            factories.IndicatorFactory(dimension=dimension, kind="penalty")


class TestIndicatorVersions:
    def test_retired_after_it_started(self):
        factories.IndicatorFactory(version_from=1, version_to=2)

    @pytest.mark.parametrize("version_to", [1, 0])
    def test_retired_before_or_when_it_started(self, version_to):
        dimension = factories.DimensionFactory()
        with violates("indicator_version_range"):
            factories.IndicatorFactory(dimension=dimension, version_from=1, version_to=version_to)

    def test_code_unique_per_version(self):
        first = factories.IndicatorFactory(code="2.3.1")
        factories.IndicatorFactory(dimension=first.dimension, code="2.3.1", version_from=2)
        with violates("indicator_unique_code_per_version", unique=True):
            factories.IndicatorFactory(dimension=first.dimension, code="2.3.1")

    def test_for_version(self):
        dimension = factories.DimensionFactory()
        kept = factories.IndicatorFactory(dimension=dimension, code="1.1")
        retired = factories.IndicatorFactory(dimension=dimension, code="1.2", version_to=2)
        replacement = factories.IndicatorFactory(dimension=dimension, code="1.2", version_from=2)
        added_later = factories.IndicatorFactory(dimension=dimension, code="1.3", version_from=3)

        def in_force(version):
            return set(Indicator.objects.for_version(version))

        assert in_force(1) == {kept, retired}
        assert in_force(2) == {kept, replacement}
        assert in_force(3) == {kept, replacement, added_later}


class TestDimension:
    def test_code_unique_per_campaign(self):
        first = factories.DimensionFactory(code="dangjian")
        factories.DimensionFactory(code="dangjian")  # another campaign
        with violates("dimension_unique_code_per_campaign", unique=True):
            factories.DimensionFactory(campaign=first.campaign, code="dangjian")

    @pytest.mark.parametrize("threshold", ["-0.01", "100.01"])
    def test_threshold_0_100(self, threshold):
        campaign = factories.CampaignFactory()
        with violates("dimension_threshold_0_100"):
            factories.DimensionFactory(campaign=campaign, threshold=Decimal(threshold))

    def test_bonus_cap_not_negative(self):
        campaign = factories.CampaignFactory()
        with violates("dimension_bonus_cap_not_negative"):
            factories.DimensionFactory(campaign=campaign, bonus_cap=Decimal("-1"))

    def test_applies_to_a_known_kind(self):
        campaign = factories.CampaignFactory()
        with violates("dimension_applies_to_valid"):
            factories.DimensionFactory(campaign=campaign, applies_to="town")

    def test_effective_threshold_defaults_to_the_campaigns(self):
        dimension = factories.DimensionFactory(campaign__threshold=Decimal("85"), threshold=None)
        assert dimension.effective_threshold == Decimal("85")

    def test_effective_threshold_override(self):
        dimension = factories.DimensionFactory(threshold=Decimal("95"))
        assert dimension.effective_threshold == Decimal("95")

    def test_effective_threshold_override_of_zero_counts(self):
        dimension = factories.DimensionFactory(threshold=Decimal("0"))
        assert dimension.effective_threshold == Decimal("0")

    def test_for_kind(self):
        campaign = factories.CampaignFactory()
        village = factories.DimensionFactory(campaign=campaign, applies_to="village")
        community = factories.DimensionFactory(campaign=campaign, applies_to="community")
        both = factories.DimensionFactory(campaign=campaign, applies_to="both")
        dimensions = campaign.dimensions.all()
        assert set(dimensions.for_kind("village")) == {village, both}
        assert set(dimensions.for_kind("community")) == {community, both}


class TestCampaign:
    @pytest.mark.parametrize("threshold", ["-1", "100.01"])
    def test_threshold_0_100(self, county, threshold):
        with violates("campaign_threshold_0_100"):
            factories.CampaignFactory(region=county, threshold=Decimal(threshold))

    @pytest.mark.parametrize("threshold", ["0", "100"])
    def test_threshold_bounds_allowed(self, county, threshold):
        factories.CampaignFactory(region=county, threshold=Decimal(threshold))

    def test_year_range(self, county):
        with violates("campaign_year_range"):
            factories.CampaignFactory(region=county, year=1999)

    def test_scheme_is_a_known_one(self, county):
        with violates("campaign_scheme_valid"):
            factories.CampaignFactory(region=county, scheme="medal")

    def test_status_is_a_known_one(self, county):
        with violates("campaign_status_valid"):
            factories.CampaignFactory(region=county, status="paused")

    def test_default_threshold_is_90(self):
        assert Campaign().threshold == Decimal("90")

    @pytest.mark.parametrize(
        ("use_self", "use_township", "stages"),
        [
            (True, True, [ScoreStage.SELF, ScoreStage.TOWNSHIP, ScoreStage.COUNTY]),
            (False, True, [ScoreStage.TOWNSHIP, ScoreStage.COUNTY]),
            (True, False, [ScoreStage.SELF, ScoreStage.COUNTY]),
            (False, False, [ScoreStage.COUNTY]),
        ],
    )
    def test_stages(self, use_self, use_township, stages):
        campaign = factories.CampaignFactory.build(
            use_self_stage=use_self, use_township_stage=use_township
        )
        assert campaign.stages() == stages


class TestTargets:
    def test_level_target_unique(self):
        target = factories.LevelTargetFactory(level=5)
        factories.LevelTargetFactory(campaign=target.campaign, level=4)
        with violates("level_target_unique", unique=True):
            factories.LevelTargetFactory(campaign=target.campaign, level=5)

    @pytest.mark.parametrize("level", [0, 11])
    def test_level_target_level_range(self, level):
        campaign = factories.CampaignFactory()
        with violates("level_target_level_range"):
            factories.LevelTargetFactory(campaign=campaign, level=level)

    def test_unit_target_unique(self, unit_a):
        target = factories.UnitTargetFactory(unit=unit_a)
        with violates("unit_target_unique", unique=True):
            factories.UnitTargetFactory(campaign=target.campaign, unit=unit_a)

    def test_unit_target_recommended_range(self, unit_a):
        campaign = factories.CampaignFactory()
        with violates("unit_target_recommended_range"):
            factories.UnitTargetFactory(campaign=campaign, unit=unit_a, recommended_level=11)

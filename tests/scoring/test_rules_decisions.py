"""Pure decision rules: threshold and veto, award/withdraw/keep, bands, totals and lost points.

No database: these take numbers and give numbers, so every boundary is spelled out here.
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from campaigns.bands import DEFAULT_BANDS, Band, parse_bands
from scoring.rules import (
    AWARD,
    KEEP,
    WITHDRAW,
    DimensionResult,
    band_dimensions,
    band_level,
    dimension_action,
    dimension_result,
    lost_points,
    total_score,
)


def result(score: str, *, vetoed: bool = False) -> DimensionResult:
    """A dimension result as the threshold of 90 would give it."""
    return DimensionResult(score=D(score), vetoed=vetoed, reaches=not vetoed and D(score) >= D(90))


class TestDimensionAction:
    @pytest.mark.parametrize(
        ("held", "reaches", "action"),
        [
            (False, True, AWARD),
            (True, False, WITHDRAW),
            (True, True, KEEP),
            (False, False, KEEP),
        ],
    )
    def test_truth_table(self, held, reaches, action):
        assert dimension_action(held=held, reaches=reaches) == action

    def test_it_takes_keywords_only(self):
        with pytest.raises(TypeError):
            dimension_action(True, False)


class TestThresholdThroughDimensionResult:
    @pytest.mark.parametrize(
        ("awarded", "score", "reaches"),
        [
            ("89.99", "89.99", False),
            ("90", "90.00", True),
            ("90.01", "90.01", True),
            ("100", "100.00", True),
            ("0", "0.00", False),
        ],
    )
    def test_boundaries_at_90(self, awarded, score, reaches):
        r = dimension_result([(D(awarded), D(100))], threshold=D(90))
        assert (r.score, r.reaches, r.vetoed) == (D(score), reaches, False)

    def test_a_score_rounding_up_to_the_threshold_reaches_it(self):
        # 89.995 of 100 rounds half up to 90.00: the rounded score is what is compared.
        r = dimension_result([(D("179.99"), D(200))], threshold=D(90))
        assert r.score == D("90.00")
        assert r.reaches is True

    def test_a_score_rounding_down_stays_below(self):
        # 179.98 of 200 is 89.99.
        r = dimension_result([(D("179.98"), D(200))], threshold=D(90))
        assert (r.score, r.reaches) == (D("89.99"), False)

    def test_threshold_of_100_needs_full_marks(self):
        assert dimension_result([(D(100), D(100))], threshold=D(100)).reaches is True
        assert dimension_result([(D("99.99"), D(100))], threshold=D(100)).reaches is False

    def test_threshold_of_0_is_reached_by_nothing_scored(self):
        assert dimension_result([(None, D(100))], threshold=D(0)).reaches is True


class TestVeto:
    @pytest.mark.parametrize("vetoes", [[True], [False, True], [None, True, None]])
    def test_any_triggered_veto_fails_full_marks(self, vetoes):
        r = dimension_result([(D(100), D(100))], vetoes=vetoes)
        assert r.vetoed is True
        assert r.reaches is False
        assert r.score == D("100.00")

    @pytest.mark.parametrize("vetoes", [[], [False], [None], [False, None]])
    def test_no_triggered_veto_does_not_fail(self, vetoes):
        r = dimension_result([(D(100), D(100))], vetoes=vetoes)
        assert (r.vetoed, r.reaches) == (False, True)

    def test_a_veto_is_not_lifted_by_bonus(self):
        r = dimension_result(
            [(D(100), D(100))], vetoes=[True], bonus=[D(5)], bonus_cap=D(5), threshold=D(0)
        )
        assert r.reaches is False


class TestBonusCap:
    @pytest.mark.parametrize(
        ("bonus", "cap", "score"),
        [
            ([D(2)], "5", "82.00"),
            ([D(3), D(4)], "5", "85.00"),  # 7 capped at 5
            ([D(5)], "5", "85.00"),
            ([D(6)], "5", "85.00"),
            ([None, D(1)], "5", "81.00"),  # unscored bonus counts 0
            ([D(5)], "0", "80.00"),  # no cap: bonus does not count
            ([D(5)], "-1", "80.00"),  # a negative cap never takes points away
        ],
    )
    def test_bonus_is_added_up_to_the_cap(self, bonus, cap, score):
        r = dimension_result([(D(80), D(100))], bonus=bonus, bonus_cap=D(cap))
        assert r.score == D(score)

    def test_bonus_is_added_after_normalising(self):
        # 40 of 50 is 80; the 3 bonus points are points out of 100, not out of 50.
        r = dimension_result([(D(40), D(50))], bonus=[D(3)], bonus_cap=D(5))
        assert r.score == D("83.00")

    def test_bonus_lifts_over_the_threshold_but_never_past_100(self):
        assert dimension_result([(D(87), D(100))], bonus=[D(3)], bonus_cap=D(3)).reaches is True
        assert dimension_result([(D(99), D(100))], bonus=[D(5)], bonus_cap=D(5)).score == D(100)


class TestUnevenMaxPoints:
    @pytest.mark.parametrize(
        ("points", "score", "reaches"),
        [
            ([(D(20), D(20)), (D(25), D(30))], "90.00", True),  # 45 of 50
            ([(D(20), D(20)), (D("24.99"), D(30))], "89.98", False),  # 44.99 of 50
            ([(D(100), D(120)), (D(8), D(10))], "83.08", False),  # 108 of 130
            ([(D(108), D(120))], "90.00", True),  # above 100 in all
            ([(D(7), D(8)), (D(7), D(7))], "93.33", True),  # 14 of 15
        ],
    )
    def test_points_are_scaled_to_100(self, points, score, reaches):
        r = dimension_result(points)
        assert (r.score, r.reaches) == (D(score), reaches)

    def test_a_value_above_its_max_counts_as_the_max(self):
        # An over-max item cannot make up for another item's loss.
        assert dimension_result([(D(60), D(50)), (D(40), D(50))]).score == D("90.00")

    def test_unscored_items_count_as_zero(self):
        assert dimension_result([(None, D(10)), (D(90), D(90))]).score == D("90.00")


class TestParseBands:
    def test_it_parses_the_default(self):
        assert parse_bands("90:5,80:4,70:3,60:2,0:1") == DEFAULT_BANDS

    def test_unordered_input_is_sorted_highest_first(self):
        assert parse_bands("0:1,70:3,90:5,60:2,80:4") == DEFAULT_BANDS

    def test_spaces_empty_parts_and_decimals_are_accepted(self):
        assert parse_bands(" 92.5 : 3 ,, 60:1, ") == (Band(D("92.5"), 3), Band(D(60), 1))

    def test_a_single_band(self):
        assert parse_bands("0:0") == (Band(D(0), 0),)

    def test_bounds_are_inclusive(self):
        assert parse_bands("100:2,0:1") == (Band(D(100), 2), Band(D(0), 1))

    @pytest.mark.parametrize(
        "text",
        [
            "",
            " , ,",
            "90",
            "90:",
            ":5",
            "90:5.5",
            "90-5",
            "90:5:1",
            "abc:5",
            "90:x",
            "nan:5",
            "ninety:5",
        ],
    )
    def test_invalid_strings_raise_value_error(self, text):
        # The documented contract is ValueError whatever is wrong, so a caller catching
        # ValueError (a form, a command) never sees a decimal.InvalidOperation instead.
        with pytest.raises(ValueError):
            parse_bands(text)

    @pytest.mark.parametrize("text", ["90:3,80:4", "90:5,80:4,70:5", "0:5,90:1"])
    def test_levels_must_not_rise_as_the_minimum_falls(self, text):
        with pytest.raises(ValueError):
            parse_bands(text)

    @pytest.mark.parametrize("text", ["90:5,90:4", "90:5,90:5", "80:4,80.00:4"])
    def test_duplicate_minimums_are_refused(self, text):
        with pytest.raises(ValueError):
            parse_bands(text)

    @pytest.mark.parametrize("text", ["101:5", "100.01:5", "-1:1", "90:-1", "inf:5"])
    def test_out_of_range_is_refused(self, text):
        with pytest.raises(ValueError):
            parse_bands(text)


class TestBandLevel:
    @pytest.mark.parametrize(
        ("total", "level"),
        [
            ("100", 5),
            ("90", 5),
            ("89.99", 4),
            ("80", 4),
            ("79.99", 3),
            ("70", 3),
            ("69.99", 2),
            ("60", 2),
            ("59.99", 1),
            ("0", 1),
        ],
    )
    def test_default_bands_at_each_boundary(self, total, level):
        assert band_level(D(total)) == level
        assert band_level(D(total), DEFAULT_BANDS) == level

    @pytest.mark.parametrize(
        ("total", "cap", "level"),
        [("95", 3, 3), ("85", 3, 3), ("75", 3, 3), ("65", 3, 2), ("10", 3, 1), ("95", 0, 0)],
    )
    def test_a_cap_limits_the_level(self, total, cap, level):
        assert band_level(D(total), DEFAULT_BANDS, cap) == level

    def test_no_cap_is_not_a_cap_of_zero(self):
        assert band_level(D(95), DEFAULT_BANDS, None) == 5

    def test_below_the_lowest_band_is_level_0(self):
        bands = parse_bands("90:5,60:2")
        assert band_level(D("59.99"), bands) == 0
        assert band_level(D(60), bands) == 2

    def test_bands_need_not_be_sorted(self):
        bands = [Band(D(0), 1), Band(D(90), 5), Band(D(60), 2)]
        assert band_level(D(91), bands) == 5
        assert band_level(D(61), bands) == 2


class TestBandDimensions:
    def test_it_picks_the_best_scored(self):
        results = {1: result("80"), 2: result("95"), 3: result("90"), 4: result("70")}
        assert band_dimensions(results, 2) == {2, 3}

    def test_it_never_picks_a_vetoed_one_even_if_it_scores_best(self):
        results = {1: result("80"), 2: result("100", vetoed=True), 3: result("90")}
        assert band_dimensions(results, 2) == {1, 3}

    def test_ties_go_to_the_lower_id_whatever_the_input_order(self):
        results = {9: result("90"), 3: result("90"), 5: result("90"), 1: result("85")}
        assert band_dimensions(results, 1) == {3}
        assert band_dimensions(results, 2) == {3, 5}
        assert band_dimensions(dict(reversed(list(results.items()))), 2) == {3, 5}

    def test_a_level_above_the_eligible_count_gives_all_eligible(self):
        results = {1: result("80"), 2: result("50", vetoed=True)}
        assert band_dimensions(results, 5) == {1}

    def test_level_0_gives_none(self):
        assert band_dimensions({1: result("100")}, 0) == set()

    def test_a_low_score_still_counts_when_the_level_asks_for_it(self):
        # Band mode decides by the total; the level's dimensions need not reach the threshold.
        assert band_dimensions({1: result("30"), 2: result("95")}, 2) == {1, 2}


class TestTotalScore:
    def test_it_is_the_mean(self):
        assert total_score([result("90"), result("80"), result("70")]) == D("80.00")

    def test_vetoed_dimensions_count_with_their_score(self):
        assert total_score([result("100", vetoed=True), result("80")]) == D("90.00")

    @pytest.mark.parametrize(
        ("scores", "total"),
        [
            (["90.00", "85.01"], "87.51"),  # 87.505 half up
            (["90.00", "85.00", "80.01"], "85.00"),  # 85.0033…
            (["100", "100", "99.99"], "100.00"),  # 99.9966… rounds up to 100.00
            (["66.67", "66.66"], "66.67"),  # 66.665 half up
        ],
    )
    def test_it_rounds_half_up_to_cents(self, scores, total):
        assert total_score([result(s) for s in scores]) == D(total)

    def test_no_dimensions_is_zero(self):
        assert total_score([]) == D("0.00")

    def test_it_takes_a_generator(self):
        assert total_score(r for r in [result("90"), result("92")]) == D("91.00")


class TestLostPoints:
    def test_largest_loss_first(self):
        items = [("1.1", D(35), D(40)), ("1.2", D(20), D(30)), ("2.1", D(45), D(60))]
        assert lost_points(items) == [("2.1", D(15)), ("1.2", D(10)), ("1.1", D(5))]

    def test_full_marks_are_left_out(self):
        assert lost_points([("1.1", D(40), D(40)), ("1.2", D(29), D(30))]) == [("1.2", D(1))]

    def test_unscored_loses_everything(self):
        assert lost_points([("1.1", None, D(40)), ("1.2", D(0), D(30))]) == [
            ("1.1", D(40)),
            ("1.2", D(30)),
        ]

    def test_a_value_above_max_loses_nothing(self):
        assert lost_points([("1.1", D(45), D(40))]) == []

    def test_equal_losses_are_ordered_by_code(self):
        items = [("2.1", D(5), D(10)), ("1.3", D(5), D(10)), ("1.2", D(15), D(20))]
        assert lost_points(items) == [("1.2", D(5)), ("1.3", D(5)), ("2.1", D(5))]

    def test_cents_are_kept(self):
        assert lost_points([("1.1", D("29.99"), D(40))]) == [("1.1", D("10.01"))]

    def test_nothing_in_nothing_out(self):
        assert lost_points([]) == []

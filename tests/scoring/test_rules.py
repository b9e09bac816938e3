"""Pure rules: a dimension's score out of 100 and whether it earns the flag or star."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from scoring.rules import dimension_result, dimension_score


def full() -> list[tuple[D, D]]:
    """Thirteen items whose max points add up to 100 (as in the demo), all at full marks."""
    maxima = [D(8)] * 9 + [D(7)] * 4
    return [(m, m) for m in maxima]


class TestDimensionScore:
    def test_full_marks_is_100(self):
        assert dimension_score(full()) == D("100.00")

    def test_lost_points_come_off_one_for_one_when_max_is_100(self):
        items = full()
        items[0] = (D("5.5"), D(8))
        assert dimension_score(items) == D("97.50")

    def test_uneven_max_points_are_normalised(self):
        # Max 50 in all: 40 of 50 is 80 out of 100.
        assert dimension_score([(D(20), D(25)), (D(20), D(25))]) == D("80.00")

    def test_max_points_above_100_are_normalised(self):
        assert dimension_score([(D(90), D(120))]) == D("75.00")

    def test_unscored_items_count_as_zero(self):
        assert dimension_score([(None, D(50)), (D(50), D(50))]) == D("50.00")

    def test_a_value_above_max_is_cut_to_max(self):
        assert dimension_score([(D(60), D(50)), (D(50), D(50))]) == D("100.00")

    def test_no_points_items_is_zero_not_an_error(self):
        assert dimension_score([]) == D("0.00")

    def test_bonus_is_added_up_to_the_cap(self):
        items = [(D(85), D(100))]
        assert dimension_score(items, bonus=[D(3)], bonus_cap=D(5)) == D("88.00")
        assert dimension_score(items, bonus=[D(3), D(4)], bonus_cap=D(5)) == D("90.00")

    def test_bonus_never_lifts_above_100(self):
        assert dimension_score([(D(98), D(100))], bonus=[D(5)], bonus_cap=D(5)) == D("100.00")

    def test_bonus_without_a_cap_counts_nothing(self):
        assert dimension_score([(D(85), D(100))], bonus=[D(5)]) == D("85.00")

    def test_it_rounds_half_up_to_cents(self):
        # 2 of 3 -> 66.666… -> 66.67
        assert dimension_score([(D(2), D(3))]) == D("66.67")


class TestDimensionResult:
    @pytest.mark.parametrize(
        ("awarded", "reaches"),
        [("89.99", False), ("90", True), ("90.01", True), ("100", True), ("0", False)],
    )
    def test_threshold_boundary(self, awarded, reaches):
        result = dimension_result([(D(awarded), D(100))], threshold=D(90))
        assert result.reaches is reaches
        assert result.score == D(awarded).quantize(D("0.01"))

    def test_a_triggered_veto_fails_even_full_marks(self):
        result = dimension_result([(D(100), D(100))], vetoes=[False, True])
        assert result.vetoed is True
        assert result.reaches is False
        assert result.score == D("100.00")

    def test_unscored_veto_is_not_triggered(self):
        assert dimension_result([(D(95), D(100))], vetoes=[None]).reaches is True

    def test_threshold_override(self):
        assert dimension_result([(D(85), D(100))], threshold=D(85)).reaches is True
        assert dimension_result([(D(85), D(100))], threshold=D(95)).reaches is False

    def test_bonus_can_lift_a_dimension_over_the_threshold(self):
        result = dimension_result([(D(87), D(100))], bonus=[D(5)], bonus_cap=D(3), threshold=D(90))
        assert result.score == D("90.00")
        assert result.reaches is True

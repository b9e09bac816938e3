"""The entry page's live totals (static/js/entry.js) are the only copy of the dimension rule
outside scoring/rules.py: on a sample of random score sets, what the page shows while typing
equals what the server computes once the same scores are saved."""

from __future__ import annotations

import random
import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from scoring.models import Stage
from scoring.rules import dimension_result
from tests.browser.helpers import note, points, veto, zh

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 4


def typed(rng: random.Random, maximum: Decimal) -> Decimal:
    """A score with up to two decimals, now and then full marks."""
    if rng.random() < 0.2:
        return maximum
    return Decimal(rng.randint(0, int(maximum * 100))) / 100


def test_live_totals_match_the_server_on_random_scores(world, journey):
    ind, dims = world.indicators, world.dimensions
    rng = random.Random(20261202)
    page = journey.login(world.secretary_of("东街村"))
    page.locator("#work-due a", has_text="东街村").click()
    expect(page.locator("#current-stage")).to_have_text(zh(Stage.SELF.label))
    compared = 0
    for round_ in range(ROUNDS):
        expected = {}
        for code, items in {"zhibu": ["1.1", "1.2", "1.3"], "chanye": ["2.1", "2.2"]}.items():
            values = {}
            for item in items:
                value = typed(rng, ind[item].max_points)
                values[item] = value
                points(page, ind[item]).fill(f"{value}")
                note(page, ind[item]).fill(f"第{round_ + 1}轮扣分说明")
            bonus = typed(rng, ind["1.5"].max_points) if code == "zhibu" else None
            if bonus is not None:
                points(page, ind["1.5"]).fill(f"{bonus}")
            vetoed = rng.random() < 0.25
            veto(page, ind["1.4" if code == "zhibu" else "2.3"]).select_option(
                "yes" if vetoed else "no"
            )
            dim = dims[code]
            expected[code] = dimension_result(
                [(v, ind[i].max_points) for i, v in values.items()],
                [vetoed],
                [bonus],
                dim.bonus_cap,
                dim.effective_threshold,
            )
        live = {code: page.locator(f"#dim-live-{dims[code].id}").inner_text() for code in expected}
        page.locator("#save-all").click()
        expect(page.locator(".alert-success")).to_be_visible()
        for code, result in expected.items():
            shown = re.search(r"[\d.]+", live[code]).group(0)
            assert Decimal(shown) == result.score, (round_, code, live[code], result)
            assert ("✕" in live[code]) == result.vetoed
            saved = page.locator(f"#dim-total-{dims[code].id}").inner_text()
            assert f"{result.score} / 100" in saved, (round_, code, saved)
            compared += 1
    assert compared == ROUNDS * 2
    journey.finish(page)

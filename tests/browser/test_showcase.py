"""The public showcase (展旗): no login, units listed at their level, nothing personal."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import zh
from tests.scenarios import BROWSER_TOWNSHIPS, BROWSER_UNITS

pytestmark = pytest.mark.django_db(transaction=True)


def test_public_showcase_lists_units_at_their_level_and_nothing_personal(world, journey):
    page = journey.page()  # nobody logged in
    response = page.goto(f"/showcase/{world.campaign.slug}/")
    assert response.status == 200
    assert "/accounts/login/" not in page.url
    expect(page.locator("h1")).to_have_text(world.campaign.name)

    stars = zh("%(level)s stars")
    totals = page.locator("#showcase-totals .badge")
    expect(totals).to_have_text(
        [f"{stars % {'level': n}}: {count}" for n, count in ((3, 1), (2, 1), (1, 2))]
    )
    chengguan = page.locator("section", has_text="城关镇")
    expect(chengguan.locator("p", has_text=stars % {"level": 2})).to_contain_text("东街村")
    expect(chengguan.locator("p", has_text=stars % {"level": 1})).to_contain_text("南关村")
    dongzhuang = page.locator("section", has_text="东庄镇")
    expect(dongzhuang.locator("p", has_text=stars % {"level": 3})).to_contain_text("东庄村")
    expect(dongzhuang.locator("p", has_text=stars % {"level": 1})).to_contain_text("西庄村")

    text = page.locator("body").inner_text()
    html = page.content()
    assert "北关村" not in text  # holds nothing
    # secretaries' names and phones
    personal = [u[4] for u in BROWSER_UNITS] + [u[5] for u in BROWSER_UNITS]
    personal += [t[3] for t in BROWSER_TOWNSHIPS] + ["李明", "张振华", "赵强"]  # officials' names
    personal += list(world.users)  # usernames
    leaked = [p for p in personal if p in html]
    assert not leaked, f"the public page shows personal data: {leaked}"
    expect(page.locator("#id_password")).to_have_count(0)
    expect(page.locator("form")).to_have_count(0)  # no login, no logout, nothing to submit
    journey.finish(page)

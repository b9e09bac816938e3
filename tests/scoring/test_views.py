"""Scoring pages: who gets in (anonymous, permitted, other township, wrong role), the entry sheet
with its htmx rows, transitions, history, gaps, the work list, evidence and query budgets.

Project strings are being translated in parallel, so the expected text is what the project's
catalogue gives under zh-hans for the msgid (as in tests/test_pages.py), never a literal.
"""

from __future__ import annotations

import datetime as dt
import re
import struct
import zlib
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.translation import gettext

from campaigns.models import IndicatorKind
from scoring import services
from scoring.inputs import ScoreInput
from scoring.models import (
    Assessment,
    AssessmentEvent,
    Evidence,
    Score,
    ScoreChange,
    Stage,
)
from tests import factories
from tests.scenarios import assessment_at
from villages.models import UnitKind

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]

UTC = dt.UTC


def zh(msgid: str, **params) -> str:
    """The message as a page shows it in Simplified Chinese (translated, formatted, escaped)."""
    with translation.override("zh-hans"):
        text = gettext(msgid)
        return escape(text % params if params else text)


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def zh_plain(msgid: str, **params) -> str:
    """Like zh(), unescaped: for messages read from the request, not from the HTML."""
    with translation.override("zh-hans"):
        text = gettext(msgid)
        return text % params if params else text


def entry_url(assessment, stage: str | None = None) -> str:
    url = reverse("scoring:entry", args=[assessment.pk])
    return f"{url}?stage={stage}" if stage else url


def row_url(assessment, indicator, stage: str | None = None) -> str:
    url = reverse("scoring:score_row", args=[assessment.pk, indicator.pk])
    return f"{url}?stage={stage}" if stage else url


def row_data(indicator, value="", note="", version=0, vetoed="") -> dict:
    prefix = f"i{indicator.id}"
    return {
        f"{prefix}-value": value,
        f"{prefix}-vetoed": vetoed,
        f"{prefix}-note": note,
        f"{prefix}-version": version,
    }


def full_sheet(indicators) -> dict:
    """POST data giving every indicator full marks (veto: not triggered, bonus: 0)."""
    data = {}
    for ind in indicators:
        if ind.kind == IndicatorKind.VETO:
            data.update(row_data(ind, vetoed="no"))
        elif ind.kind == IndicatorKind.BONUS:
            data.update(row_data(ind, "0"))
        else:
            data.update(row_data(ind, f"{ind.max_points.normalize():f}"))
    return data


def row_html(content: str, indicator) -> str:
    """The HTML of one indicator's row on the entry sheet."""
    start = content.index(f'id="row-{indicator.id}"')
    ends = [content.find(marker, start) for marker in ('<div class="entry-row', "</section>")]
    ends = [e for e in ends if e != -1]
    return content[start : min(ends) if ends else len(content)]


def png_bytes() -> bytes:
    """A real 1×1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xcc\x00\x00"))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def evidence(village_secretary, catalogue, assessment_a):
    """A PNG attached to the village's self-assessment of the first shared indicator."""
    indicator = catalogue.shared_points[0]
    services.scores_save(
        user=village_secretary,
        stage=Stage.SELF,
        inputs=[ScoreInput(assessment_a.id, indicator.id, value=Decimal("40"))],
    )
    score = Score.objects.get(assessment=assessment_a, indicator=indicator)
    return services.evidence_attach(
        user=village_secretary,
        score_id=score.id,
        upload=SimpleUploadedFile("台账.png", png_bytes(), content_type="image/png"),
    )


VIEWS = {
    # name: (method, what the URL names)
    "period_list": ("get", "campaign"),
    "work_list": ("get", "period"),
    "bulk_submit": ("post", "period"),
    "gaps": ("get", "period"),
    "sheet_template": ("get", "period"),
    "sheet_upload": ("get", "period"),
    "entry": ("get", "assessment"),
    "score_row": ("post", "row"),
    "submit": ("post", "assessment"),
    "return": ("post", "assessment"),
    "history": ("get", "assessment"),
    "evidence_upload": ("post", "row"),
    "evidence_list": ("get", "row"),
    "evidence_download": ("get", "evidence"),
}
GET_VIEWS = ["period_list", "work_list", "gaps", "entry", "history", "evidence_list"]
ASSESSMENT_VIEWS = ["entry", "score_row", "submit", "return", "history"]
ASSESSMENT_VIEWS += ["evidence_upload", "evidence_list", "evidence_download"]


def url_of(name: str, *, period, assessment=None, indicator=None, evidence=None) -> str:
    kind = VIEWS[name][1]
    if kind == "campaign":
        args = [period.campaign.slug]
    elif kind == "period":
        args = [period.campaign.slug, period.label]
    elif kind == "assessment":
        args = [assessment.pk]
    elif kind == "row":
        args = [assessment.pk, indicator.pk]
    else:
        args = [evidence.pk if evidence else 1]
    return reverse(f"scoring:{name}", args=args)


# --- access ---------------------------------------------------------------------------------


class TestAccess:
    @pytest.mark.parametrize("name", VIEWS)
    def test_it_sends_anonymous_to_login(self, client, catalogue, period, assessment_a, name):
        url = url_of(
            name, period=period, assessment=assessment_a, indicator=catalogue.shared_points[0]
        )
        response = getattr(client, VIEWS[name][0])(url)
        assert response.status_code == 302
        assert response.url == f"/accounts/login/?next={url}"

    @pytest.mark.parametrize(
        "role",
        [
            "village_secretary",
            "township_official",
            "county_staff",
            "department",
            "leader",
            "superuser",
        ],
    )
    @pytest.mark.parametrize("name", [*GET_VIEWS, "evidence_download"])
    def test_it_shows_each_page_to_whoever_may_see_the_unit(
        self, client, users, catalogue, period, assessment_a, evidence, role, name
    ):
        client.force_login(users[role])
        url = url_of(
            name,
            period=period,
            assessment=assessment_a,
            indicator=catalogue.shared_points[0],
            evidence=evidence,
        )
        response = client.get(url)
        assert response.status_code == 200
        if name == "evidence_download":
            assert b"".join(response.streaming_content) == png_bytes()

    @pytest.mark.parametrize("name", ASSESSMENT_VIEWS)
    def test_it_hides_another_townships_assessment(
        self, client, stranger, catalogue, period, assessment_a, evidence, name
    ):
        client.force_login(stranger)
        url = url_of(
            name,
            period=period,
            assessment=assessment_a,
            indicator=catalogue.shared_points[0],
            evidence=evidence,
        )
        data = {"reason": "x", **row_data(catalogue.shared_points[0], "1", "x")}
        response = client.post(url, data) if VIEWS[name][0] == "post" else client.get(url)
        assert response.status_code == 404
        assert reload(assessment_a).stage == Stage.SELF
        assert Evidence.objects.count() == 1

    def test_it_hides_a_save_all_on_another_townships_assessment(
        self, client, stranger, catalogue, assessment_a
    ):
        client.force_login(stranger)
        data = row_data(catalogue.shared_points[0], "40")
        assert client.post(entry_url(assessment_a, Stage.SELF), data).status_code == 404
        assert not Score.objects.exists()

    @pytest.mark.parametrize("name", ["period_list", "work_list", "gaps", "bulk_submit"])
    def test_it_hides_another_countys_period(self, client, township_official, name):
        elsewhere = factories.CountyFactory(code="410526000000", name="滑县")
        period = factories.PeriodFactory(
            campaign=factories.CampaignFactory(region=elsewhere), label="2026Q3"
        )
        client.force_login(township_official)
        url = url_of(name, period=period)
        assert getattr(client, VIEWS[name][0])(url).status_code == 404

    def test_another_townships_units_are_not_on_the_work_list(
        self, client, stranger, period, assessment_a, assessment_b
    ):
        client.force_login(stranger)
        response = client.get(reverse("scoring:work_list", args=[period.campaign.slug, "2026Q3"]))
        assert [a.pk for a in response.context["rows"]] == [assessment_b.pk]
        assert "东街村" not in response.content.decode()

    def test_only_county_staff_may_open_a_period(self, client, township_official, catalogue):
        client.force_login(township_official)
        url = reverse("scoring:period_list", args=[catalogue.campaign.slug])
        response = client.get(url)
        assert response.status_code == 200
        assert response.context["form"] is None
        data = {"label": "2026Q4", "starts_on": "2026-10-01", "ends_on": "2026-12-31"}
        assert client.post(url, data).status_code == 403
        assert not catalogue.campaign.periods.exists()

    def test_county_staff_open_a_period(self, client, county_staff, catalogue, unit_a, unit_b):
        client.force_login(county_staff)
        url = reverse("scoring:period_list", args=[catalogue.campaign.slug])
        data = {"label": "2026Q4", "starts_on": "2026-10-01", "ends_on": "2026-12-31"}
        response = client.post(url, data)
        assert response.status_code == 302
        assert response.url == reverse(
            "scoring:work_list", args=[catalogue.campaign.slug, "2026Q4"]
        )
        assert catalogue.campaign.periods.get().assessments.count() == 2

    def test_a_leader_cannot_save_a_sheet(self, client, leader, catalogue, assessment_a):
        client.force_login(leader)
        response = client.post(
            entry_url(assessment_a, Stage.SELF), row_data(catalogue.shared_points[0], "40")
        )
        assert response.status_code == 302
        assert messages_of(response) == [zh_plain("There is nothing you may change on this sheet.")]
        assert not Score.objects.exists()

    @pytest.mark.parametrize("role", ["leader", "township_official", "department"])
    def test_a_wrong_role_cannot_save_a_row(self, client, users, catalogue, assessment_a, role):
        client.force_login(users[role])
        response = client.post(
            row_url(assessment_a, catalogue.shared_points[0], Stage.SELF),
            row_data(catalogue.shared_points[0], "40"),
            headers={"HX-Request": "true"},
        )
        assert response.status_code == 403
        assert not Score.objects.exists()

    @pytest.mark.parametrize("role", ["leader", "township_official", "department"])
    def test_a_wrong_role_cannot_submit(self, client, users, catalogue, period, unit_a, role):
        assessment = assessment_at(period, unit_a, Stage.SELF, catalogue)
        client.force_login(users[role])
        response = client.post(reverse("scoring:submit", args=[assessment.pk]))
        assert response.status_code == 302
        assert messages_of(response) == [
            zh_plain("You may not do this at the stage “%(s)s”.", s=Stage.SELF.label)
        ]
        assert reload(assessment).stage == Stage.SELF
        assert not AssessmentEvent.objects.exists()

    def test_the_village_cannot_return_the_township_stage(
        self, client, village_secretary, catalogue, period, unit_a
    ):
        assessment = assessment_at(period, unit_a, Stage.TOWNSHIP, catalogue)
        client.force_login(village_secretary)
        response = client.post(reverse("scoring:return", args=[assessment.pk]), {"reason": "不服"})
        assert response.status_code == 302
        assert messages_of(response) == [
            zh_plain("You may not do this at the stage “%(s)s”.", s=Stage.TOWNSHIP.label)
        ]
        assert reload(assessment).stage == Stage.TOWNSHIP

    def test_a_leader_cannot_attach_evidence(self, client, leader, evidence, assessment_a):
        client.force_login(leader)
        url = reverse(
            "scoring:evidence_upload", args=[assessment_a.pk, evidence.score.indicator_id]
        )
        upload = SimpleUploadedFile("photo.png", png_bytes(), content_type="image/png")
        response = client.post(url, {"file": upload, "stage": Stage.SELF})
        assert response.status_code == 302
        assert messages_of(response) == [zh_plain("You may not enter scores at this stage.")]
        assert Evidence.objects.count() == 1


def reload(assessment) -> Assessment:
    return Assessment.objects.get(pk=assessment.pk)


# --- the entry sheet ------------------------------------------------------------------------


class TestEntry:
    def test_it_shows_both_dimensions_editable_to_the_village(
        self, client, village_secretary, catalogue, assessment_a
    ):
        client.force_login(village_secretary)
        response = client.get(entry_url(assessment_a))
        content = response.content.decode()
        assert response.context["stage"] == Stage.SELF
        assert response.context["editable"] is True
        assert [b.dimension for b in response.context["sheet"]] == [
            catalogue.shared,
            catalogue.village,
        ]
        assert 'id="save-all"' in content
        assert 'id="read-only-notice"' not in content
        assert f'name="i{catalogue.shared_points[0].id}-value"' in content

    def test_a_community_gets_only_the_shared_dimension(
        self, client, township_official, catalogue, period, township_a
    ):
        community = factories.UnitFactory(township=township_a, kind=UnitKind.COMMUNITY)
        assessment = factories.AssessmentFactory(period=period, unit=community)
        client.force_login(township_official)
        response = client.get(entry_url(assessment))
        assert [b.dimension for b in response.context["sheet"]] == [catalogue.shared]
        assert response.context["editable"] is False  # not the township's stage yet

    def test_save_all_keeps_typed_values_and_shows_errors_next_to_the_fields(
        self, client, village_secretary, catalogue, assessment_a
    ):
        first, second = catalogue.shared_points[:2]
        client.force_login(village_secretary)
        data = {**row_data(first, "四十"), **row_data(second, "25")}
        data.update(row_data(catalogue.shared_points[2], "30"))
        response = client.post(entry_url(assessment_a, Stage.SELF), data)
        assert response.status_code == 200
        content = response.content.decode()

        row = row_html(content, first)
        assert 'value="四十"' in row
        number = zh("Enter a number, e.g. 7 or 6.5.")
        assert f'id="err-{first.id}-value">{number}</div>' in row
        assert "is-invalid" in row

        row = row_html(content, second)
        assert 'value="25"' in row
        note = zh("Say why points were deducted.")
        assert re.search(
            rf'name="i{second.id}-note"[^>]*>\s*</textarea>\s*<div[^>]*>{note}</div>', row
        )

        assert 'value="30"' in row_html(content, catalogue.shared_points[2])
        assert zh("Some scores are not valid. Nothing was saved; see the marked rows.") in content
        assert not Score.objects.exists()

    def test_save_all_redirects_and_writes(
        self, client, village_secretary, catalogue, assessment_a
    ):
        indicators = catalogue.for_kind(UnitKind.VILLAGE)
        client.force_login(village_secretary)
        response = client.post(entry_url(assessment_a, Stage.SELF), full_sheet(indicators))
        assert response.status_code == 302
        assert response.url == entry_url(assessment_a, Stage.SELF)
        assert messages_of(response) == [zh_plain("Saved: %(n)d scores changed.", n=9)]
        assert Score.objects.filter(assessment=assessment_a, stage=Stage.SELF).count() == 9
        assert set(ScoreChange.objects.values_list("source", "changed_by")) == {
            ("web", village_secretary.pk)
        }
        veto = Score.objects.get(indicator=catalogue.shared_veto)
        assert (veto.value, veto.vetoed) == (None, False)

    def test_htmx_row_save_returns_the_row_and_the_dimension_total(
        self, client, village_secretary, catalogue, assessment_a
    ):
        first = catalogue.shared_points[0]
        client.force_login(village_secretary)
        response = client.post(
            row_url(assessment_a, first, Stage.SELF),
            row_data(first, "40"),
            headers={"HX-Request": "true"},
        )
        assert response.status_code == 200
        content = response.content.decode()
        assert "<html" not in content
        assert content.count('class="entry-row') == 1
        assert f'id="row-{first.id}"' in content
        assert 'class="text-success small mt-1 saved-notice"' in content
        assert f'name="i{first.id}-version" value="1"' in content
        assert re.search(
            rf'<span id="dim-total-{catalogue.shared.id}"[^>]*hx-swap-oob="true">40\.00 / 100',
            content,
        )
        score = Score.objects.get()
        assert (score.value, score.version, score.updated_by) == (
            Decimal("40"),
            1,
            village_secretary,
        )

    def test_htmx_row_with_an_error_is_not_saved(
        self, client, village_secretary, catalogue, assessment_a
    ):
        first = catalogue.shared_points[0]
        client.force_login(village_secretary)
        response = client.post(
            row_url(assessment_a, first, Stage.SELF),
            row_data(first, "41"),
            headers={"HX-Request": "true"},
        )
        content = response.content.decode()
        # the bound is the stored max (two decimals), as the service words it
        assert zh("At most %(max)s points for this indicator.", max="40") in content
        assert 'value="41"' in content
        assert not Score.objects.exists()

    def test_a_stale_row_shows_the_current_value_and_keeps_the_typed_one(
        self, client, village_secretary, superuser, catalogue, assessment_a
    ):
        first = catalogue.shared_points[0]
        for user, value, note, version in (
            (village_secretary, "35", "缺", 0),
            (superuser, "30", "复核", 1),
        ):
            services.scores_save(
                user=user,
                stage=Stage.SELF,
                inputs=[
                    ScoreInput(
                        assessment_a.id,
                        first.id,
                        value=Decimal(value),
                        note=note,
                        expected_version=version,
                    )
                ],
            )
        client.force_login(village_secretary)
        response = client.post(
            row_url(assessment_a, first, Stage.SELF),
            row_data(first, "38", note="整改后", version=1),
            headers={"HX-Request": "true"},
        )
        assert response.status_code == 200
        content = response.content.decode()
        assert re.search(r'stale-notice">[^<]*<strong>30(\.00)?</strong> · 复核', content)
        assert zh("Changed by someone else meanwhile; see the current value.") in content
        assert 'value="38"' in content
        assert "整改后</textarea>" in content
        # The page now carries the current version: saving again is a deliberate overwrite.
        assert f'name="i{first.id}-version" value="2"' in content
        score = Score.objects.get()
        assert (score.value, score.version) == (Decimal("30"), 2)
        assert ScoreChange.objects.count() == 2

        response = client.post(
            row_url(assessment_a, first, Stage.SELF),
            row_data(first, "38", note="整改后", version=2),
            headers={"HX-Request": "true"},
        )
        assert Score.objects.get().value == Decimal("38")

    def test_a_stale_save_all_shows_the_current_value(
        self, client, village_secretary, superuser, catalogue, assessment_a
    ):
        first = catalogue.shared_points[0]
        services.scores_save(
            user=superuser,
            stage=Stage.SELF,
            inputs=[ScoreInput(assessment_a.id, first.id, value=Decimal("30"), note="复核")],
        )
        client.force_login(village_secretary)
        response = client.post(
            entry_url(assessment_a, Stage.SELF), row_data(first, "40", version=0)
        )
        assert response.status_code == 200
        row = row_html(response.content.decode(), first)
        assert "stale-notice" in row
        assert 'value="40"' in row
        assert Score.objects.get().value == Decimal("30")

    @pytest.mark.parametrize(
        ("role", "stage"), [("county_staff", Stage.COUNTY), ("village_secretary", Stage.SELF)]
    )
    def test_a_crafted_post_to_a_final_assessment_is_refused(
        self, client, users, catalogue, period, unit_a, role, stage
    ):
        finaliser = users["county_staff"]
        finaliser.first_name = "王科长"
        finaliser.save()
        assessment = assessment_at(period, unit_a, Stage.FINAL, catalogue, finaliser=finaliser)
        Assessment.objects.filter(pk=assessment.pk).update(
            finalised_at=dt.datetime(2026, 10, 20, 2, 0, tzinfo=UTC)
        )
        before = list(Score.objects.order_by("id").values_list("value", "version"))
        locked = zh(
            "This assessment was finalised by %(who)s on %(when)s and is locked.",
            who="王科长",
            when="2026-10-20 10:00",
        )
        client.force_login(users[role])
        first = catalogue.shared_points[0]

        response = client.post(entry_url(assessment, stage), row_data(first, "10", "x", 1))
        assert response.status_code == 200
        assert locked in response.content.decode()

        response = client.post(
            row_url(assessment, first, stage),
            row_data(first, "10", "x", 1),
            headers={"HX-Request": "true"},
        )
        assert response.status_code == 200
        assert locked in response.content.decode()

        assert list(Score.objects.order_by("id").values_list("value", "version")) == before
        assert not ScoreChange.objects.exists()
        assert reload(assessment).stage == Stage.FINAL

    def test_a_final_sheet_says_who_locked_it(
        self, client, county_staff, catalogue, period, unit_a
    ):
        assessment = assessment_at(period, unit_a, Stage.FINAL, catalogue, finaliser=county_staff)
        client.force_login(county_staff)
        response = client.get(entry_url(assessment))
        content = response.content.decode()
        assert response.context["stage"] == Stage.COUNTY
        assert response.context["editable"] is False
        assert 'id="locked-notice"' in content
        assert county_staff.get_full_name() in content
        assert 'id="save-all"' not in content
        assert 'id="submit-btn"' not in content


# --- submit and return ----------------------------------------------------------------------


class TestTransitions:
    @pytest.mark.parametrize(
        ("role", "stage", "can_submit", "can_return"),
        [
            ("village_secretary", Stage.SELF, True, False),
            ("township_official", Stage.SELF, False, False),
            ("township_official", Stage.TOWNSHIP, True, True),
            ("county_staff", Stage.COUNTY, True, True),
            ("department", Stage.COUNTY, False, False),
            ("leader", Stage.TOWNSHIP, False, False),
            ("superuser", Stage.SELF, True, False),
            ("superuser", Stage.COUNTY, True, True),
        ],
    )
    def test_it_shows_the_buttons_the_user_may_use(
        self, client, users, catalogue, period, unit_a, role, stage, can_submit, can_return
    ):
        assessment = assessment_at(period, unit_a, stage, catalogue)
        client.force_login(users[role])
        content = client.get(entry_url(assessment)).content.decode()
        assert ('id="submit-btn"' in content) is can_submit
        assert ('id="return-btn"' in content) is can_return
        if can_submit and stage == Stage.COUNTY:
            assert zh("Finalise") in content

    def test_no_return_button_at_the_first_stage_of_a_campaign_without_self_stage(
        self, client, township_official, catalogue, period, unit_a
    ):
        catalogue.campaign.use_self_stage = False
        catalogue.campaign.save()
        assessment = assessment_at(period, unit_a, Stage.TOWNSHIP, catalogue)
        client.force_login(township_official)
        content = client.get(entry_url(assessment)).content.decode()
        assert 'id="submit-btn"' in content
        assert 'id="return-btn"' not in content

    def test_submit_moves_it_on(self, client, village_secretary, catalogue, period, unit_a):
        assessment = assessment_at(period, unit_a, Stage.SELF, catalogue)
        client.force_login(village_secretary)
        response = client.post(
            reverse("scoring:submit", args=[assessment.pk]), {"version": assessment.version}
        )
        assert response.status_code == 302
        assert response.url == entry_url(assessment)
        assert messages_of(response) == [
            zh_plain(
                "%(unit)s submitted to “%(stage)s”.", unit="东街村", stage=Stage.TOWNSHIP.label
            )
        ]
        assert reload(assessment).stage == Stage.TOWNSHIP

    def test_submit_refuses_an_incomplete_sheet(
        self, client, village_secretary, catalogue, assessment_a
    ):
        factories.scores_fill(assessment_a, Stage.SELF, catalogue.shared_points)
        client.force_login(village_secretary)
        response = client.post(reverse("scoring:submit", args=[assessment_a.pk]))
        assert messages_of(response) == [
            zh_plain(
                "%(unit)s: %(n)d indicators are not scored yet; score them first.",
                unit="东街村",
                n=6,
            )
        ]
        assert reload(assessment_a).stage == Stage.SELF

    def test_submit_refuses_a_page_that_is_out_of_date(
        self, client, village_secretary, catalogue, period, unit_a
    ):
        assessment = assessment_at(period, unit_a, Stage.SELF, catalogue)
        Assessment.objects.filter(pk=assessment.pk).update(version=3)
        client.force_login(village_secretary)
        response = client.post(reverse("scoring:submit", args=[assessment.pk]), {"version": "2"})
        assert messages_of(response) == [
            zh_plain(
                "%(unit)s was changed by someone else meanwhile (now at “%(stage)s”). Reload.",
                unit="东街村",
                stage=Stage.SELF.label,
            )
        ]
        assert reload(assessment).stage == Stage.SELF

    def test_county_staff_finalise(self, client, county_staff, catalogue, period, unit_a):
        assessment = assessment_at(period, unit_a, Stage.COUNTY, catalogue)
        client.force_login(county_staff)
        response = client.post(reverse("scoring:submit", args=[assessment.pk]))
        assert messages_of(response) == [zh_plain("%(unit)s is final and locked.", unit="东街村")]
        after = reload(assessment)
        assert (after.stage, after.finalised_by) == (Stage.FINAL, county_staff)

    def test_return_sends_it_back_with_the_reason(
        self, client, township_official, village_secretary, catalogue, period, unit_a
    ):
        assessment = assessment_at(period, unit_a, Stage.TOWNSHIP, catalogue)
        client.force_login(township_official)
        response = client.post(
            reverse("scoring:return", args=[assessment.pk]),
            {"reason": "请补充1.1台账", "version": assessment.version},
        )
        assert response.status_code == 302
        assert messages_of(response) == [
            zh_plain("%(unit)s returned to “%(stage)s”.", unit="东街村", stage=Stage.SELF.label)
        ]
        after = reload(assessment)
        assert (after.stage, after.returned_reason) == (Stage.SELF, "请补充1.1台账")

        client.force_login(village_secretary)
        content = client.get(entry_url(assessment)).content.decode()
        assert 'id="returned-notice"' in content
        assert "请补充1.1台账" in content

    def test_return_without_a_reason_is_refused(
        self, client, township_official, catalogue, period, unit_a
    ):
        assessment = assessment_at(period, unit_a, Stage.TOWNSHIP, catalogue)
        client.force_login(township_official)
        response = client.post(
            reverse("scoring:return", args=[assessment.pk]), {"reason": "  ", "version": "1"}
        )
        assert response.status_code == 200
        content = response.content.decode()
        reason = zh("Give a reason for returning it.")
        assert re.search(rf'name="reason"[^>]*>\s*</textarea>\s*<div[^>]*>{reason}</div>', content)
        assert reload(assessment).stage == Stage.TOWNSHIP
        assert not AssessmentEvent.objects.exists()


# --- history and gaps -----------------------------------------------------------------------


class TestHistory:
    def test_it_lists_changes_and_events_and_marks_late_edits(
        self, client, village_secretary, township_official, catalogue, assessment_a
    ):
        indicators = catalogue.for_kind(UnitKind.VILLAGE)
        client.force_login(village_secretary)
        client.post(entry_url(assessment_a, Stage.SELF), full_sheet(indicators))
        client.post(reverse("scoring:submit", args=[assessment_a.pk]))
        client.force_login(township_official)
        client.post(reverse("scoring:return", args=[assessment_a.pk]), {"reason": "请补充台账"})
        client.force_login(village_secretary)
        first = catalogue.shared_points[0]
        client.post(entry_url(assessment_a, Stage.SELF), row_data(first, "36", "补充后", 1))

        client.force_login(township_official)
        url = reverse("scoring:history", args=[assessment_a.pk])
        response = client.get(url)
        assert response.status_code == 200
        content = response.content.decode()
        assert [e.kind for e in response.context["events"]] == ["return", "submit"]
        assert "请补充台账" in content
        changes = list(response.context["page"])
        # 9 typed, 9 carried into the township stage, 1 late edit
        assert len(changes) == 19
        assert changes[0].new_value == Decimal("36") and changes[0].after_submission
        assert content.count('<tr class="table-warning">') == 1
        assert zh("after submission") in content

        late = client.get(url, {"after": "1"}).context["page"]
        assert [c.pk for c in late] == [changes[0].pk]
        township = client.get(url, {"stage": Stage.TOWNSHIP}).context["page"]
        assert {c.source for c in township} == {"carried"}


class TestGaps:
    def test_it_lists_the_largest_gap_first(
        self, client, township_official, catalogue, period, unit_a, township_a
    ):
        south = factories.UnitFactory(township=township_a, name="南关村")
        village_items = catalogue.for_kind(UnitKind.VILLAGE)
        a = assessment_at(period, unit_a, Stage.TOWNSHIP, catalogue)
        factories.scores_fill(a, Stage.SELF, village_items)
        b = assessment_at(period, south, Stage.TOWNSHIP, catalogue)
        factories.scores_fill(b, Stage.SELF, village_items)
        first, second = catalogue.shared_points[:2]
        # 东街村: township took 40 of the shared dimension's 100; 南关村: 10.
        Score.objects.filter(assessment=a, stage=Stage.TOWNSHIP, indicator=first).update(value=0)
        Score.objects.filter(assessment=b, stage=Stage.TOWNSHIP, indicator=second).update(value=20)
        client.force_login(township_official)
        response = client.get(reverse("scoring:gaps", args=[period.campaign.slug, "2026Q3"]))
        assert response.status_code == 200
        rows = [
            (r["assessment"].unit.name, r["dimension"].code, r["gap"])
            for r in response.context["page"]
        ]
        assert rows[:2] == [("东街村", "dangjian", Decimal("40")), ("南关村", "dangjian", 10)]
        assert sorted(rows[2:]) == [("东街村", "chanye", 0), ("南关村", "chanye", 0)]
        gaps = re.findall(r'<td class="text-end fw-bold">([\d.]+)</td>', response.content.decode())
        assert gaps == ["40.0", "10.0", "0.0", "0.0"]


# --- the work list --------------------------------------------------------------------------


@pytest.fixture
def work(catalogue, period, unit_a, unit_b, township_a):
    """东街村 at self (3 scored), 南关村 at township (complete), 西庄村 (B) at county."""
    south = factories.UnitFactory(township=township_a, name="南关村")
    east = factories.AssessmentFactory(period=period, unit=unit_a)
    factories.scores_fill(east, Stage.SELF, catalogue.shared_points)
    return {
        "东街村": east,
        "南关村": assessment_at(period, south, Stage.TOWNSHIP, catalogue),
        "西庄村": factories.AssessmentFactory(period=period, unit=unit_b, stage=Stage.COUNTY),
    }


def work_list_url(period) -> str:
    return reverse("scoring:work_list", args=[period.campaign.slug, period.label])


def listed(response) -> list[str]:
    return [a.unit.name for a in response.context["rows"]]


class TestWorkList:
    def test_it_lists_the_period_by_code(self, client, county_staff, period, work):
        client.force_login(county_staff)
        response = client.get(work_list_url(period))
        assert response.status_code == 200
        expected = sorted(work, key=lambda name: work[name].unit.code)
        assert listed(response) == expected
        rows = {a.unit.name: a for a in response.context["rows"]}
        assert (rows["东街村"].progress, rows["东街村"].needed) == (3, 9)
        assert (rows["南关村"].progress, rows["南关村"].needed) == (9, 9)
        assert [t["code"] for t in response.context["progress_by_township"]] == [
            "410527100000",
            "410527101000",
        ]

    @pytest.mark.parametrize(
        ("params", "expected"),
        [
            ({"township": "410527101000"}, ["西庄村"]),
            ({"stage": "township"}, ["南关村"]),
            ({"stage": "nonsense"}, None),
            ({"q": "南关"}, ["南关村"]),
            ({"q": "410527101"}, ["西庄村"]),
            ({"q": "北关"}, []),
            ({"sort": "-progress"}, ["南关村", "东街村", "西庄村"]),
            ({"sort": "stage"}, ["东街村", "南关村", "西庄村"]),
            # unscored units have no points: the last of the highest, the first of the lowest
            ({"sort": "-total"}, ["南关村", "东街村", "西庄村"]),
            ({"sort": "total"}, ["西庄村", "东街村", "南关村"]),
        ],
        ids=lambda value: (
            "&".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else ""
        ),
    )
    def test_it_filters_and_sorts(self, client, county_staff, period, work, params, expected):
        """Sorting is the same on SQLite and PostgreSQL (which differ on where NULLs go)."""
        client.force_login(county_staff)
        response = client.get(work_list_url(period), params)
        if expected is None:  # an unknown value is ignored
            expected = sorted(work, key=lambda name: work[name].unit.code)
        assert listed(response) == expected

    def test_the_township_sees_only_its_units_and_can_tick_its_stage(
        self, client, township_official, period, work
    ):
        client.force_login(township_official)
        response = client.get(work_list_url(period))
        assert sorted(listed(response)) == ["东街村", "南关村"]
        assert response.context["progress_by_township"] is None
        ticks = {a.unit.name: a.can_submit for a in response.context["rows"]}
        assert ticks == {"东街村": False, "南关村": True}
        assert f'name="ids" value="{work["南关村"].pk}"' in response.content.decode()

    @pytest.mark.parametrize(
        ("now", "late"),
        [
            # 16:30 UTC on 30 September is already 1 October in Asia/Shanghai
            (dt.datetime(2026, 9, 30, 16, 30, tzinfo=UTC), ["东街村"]),
            (dt.datetime(2026, 9, 30, 15, 30, tzinfo=UTC), []),
        ],
    )
    def test_overdue_follows_the_shanghai_calendar(
        self, client, monkeypatch, county_staff, period, work, now, late
    ):
        monkeypatch.setattr(timezone, "now", lambda: now)
        client.force_login(county_staff)
        response = client.get(work_list_url(period))
        marked = [a.unit.name for a in response.context["rows"] if a.overdue]
        assert marked == late
        assert response.content.decode().count('class="table-danger"') == len(late)
        progress = {t["code"]: t["overdue"] for t in response.context["progress_by_township"]}
        assert progress == {"410527100000": len(late), "410527101000": 0}
        assert listed(client.get(work_list_url(period), {"overdue": "1"})) == late

    def test_bulk_submit_submits_some_and_lists_refusals(
        self, client, township_official, catalogue, period, work, township_a
    ):
        north = factories.AssessmentFactory(
            period=period,
            unit=factories.UnitFactory(township=township_a, name="北关村"),
            stage=Stage.TOWNSHIP,
        )
        client.force_login(township_official)
        back = work_list_url(period) + "?stage=township"
        ids = [work["南关村"].pk, north.pk, work["东街村"].pk, work["西庄村"].pk]
        url = reverse("scoring:bulk_submit", args=[period.campaign.slug, period.label])
        response = client.post(url, {"ids": ids, "next": back})
        assert response.status_code == 302
        assert response.url == back
        done, *refused = messages_of(response)
        assert done == zh_plain("%(n)d submitted.", n=1)
        assert sorted(refused) == sorted(
            [
                zh_plain(
                    "%(unit)s: %(n)d indicators are not scored yet; score them first.",
                    unit="北关村",
                    n=9,
                ),
                zh_plain("You may not do this at the stage “%(s)s”.", s=Stage.SELF.label),
            ]
        )
        stages = dict(Assessment.objects.values_list("unit__name", "stage"))
        assert stages == {
            "南关村": Stage.COUNTY,
            "北关村": Stage.TOWNSHIP,
            "东街村": Stage.SELF,
            "西庄村": Stage.COUNTY,  # another township's: not touched, not even mentioned
        }
        assert AssessmentEvent.objects.get().assessment_id == work["南关村"].pk

    def test_bulk_submit_without_ticks_says_so(self, client, township_official, period, work):
        client.force_login(township_official)
        url = reverse("scoring:bulk_submit", args=[period.campaign.slug, period.label])
        response = client.post(url, {"ids": [work["西庄村"].pk, "x"]})
        assert response.url == work_list_url(period)
        assert messages_of(response) == [zh_plain("Tick at least one unit to submit.")]
        assert not AssessmentEvent.objects.exists()

    def test_bulk_submit_does_not_follow_next_off_site(
        self, client, township_official, period, work
    ):
        client.force_login(township_official)
        url = reverse("scoring:bulk_submit", args=[period.campaign.slug, period.label])
        response = client.post(url, {"ids": [work["南关村"].pk], "next": "https://evil.example/"})
        assert response.status_code == 302
        assert response.url == work_list_url(period)


# --- home -----------------------------------------------------------------------------------


class TestHome:
    def test_it_shows_the_village_what_was_returned_and_what_is_due(
        self, client, monkeypatch, village_secretary, township_official, catalogue, period, unit_a
    ):
        monkeypatch.setattr(timezone, "now", lambda: dt.datetime(2026, 10, 2, 1, 0, tzinfo=UTC))
        assessment = assessment_at(period, unit_a, Stage.TOWNSHIP, catalogue)
        services.assessment_return(
            user=township_official, assessment_id=assessment.id, reason="请补充党建台账"
        )
        client.force_login(village_secretary)
        response = client.get(reverse("home"))
        content = response.content.decode()
        due = response.context["due"]
        assert (due["stage"], due["count"]) == (Stage.SELF, 1)
        # The period's self due date has passed, but a return gives the village a fresh one
        # (the campaign's return_days, 7, from the day it was returned).
        assert [(a.due, a.overdue) for a in due["items"]] == [(dt.date(2026, 10, 9), False)]
        returned = content[content.index('id="returned-notices"') :]
        assert "请补充党建台账" in returned
        assert f'href="{entry_url(assessment)}"' in returned
        work_due = content[content.index('id="work-due"') :]
        assert f'href="{entry_url(assessment)}">东街村</a>' in work_due
        assert "10-09" in work_due
        assert zh("overdue") not in work_due

    def test_nothing_is_due_for_the_township_while_villages_score(
        self, client, township_official, assessment_a
    ):
        client.force_login(township_official)
        response = client.get(reverse("home"))
        assert response.context["due"]["count"] == 0
        assert 'id="returned-notices"' not in response.content.decode()

    def test_leaders_have_no_work_due(self, client, leader, assessment_a):
        client.force_login(leader)
        content = client.get(reverse("home")).content.decode()
        assert 'id="work-due"' not in content


# --- evidence -------------------------------------------------------------------------------


class TestEvidence:
    @pytest.fixture
    def upload_url(self, village_secretary, catalogue, assessment_a):
        first = catalogue.shared_points[0]
        services.scores_save(
            user=village_secretary,
            stage=Stage.SELF,
            inputs=[ScoreInput(assessment_a.id, first.id, value=Decimal("40"))],
        )
        return reverse("scoring:evidence_upload", args=[assessment_a.pk, first.pk])

    def post(self, client, url, name, content):
        upload = SimpleUploadedFile(name, content)
        return client.post(url, {"file": upload, "stage": Stage.SELF})

    def test_it_attaches_a_real_png(self, client, village_secretary, assessment_a, upload_url):
        client.force_login(village_secretary)
        response = self.post(client, upload_url, "村委会照片.png", png_bytes())
        assert response.status_code == 302
        assert messages_of(response) == [zh_plain("Attached %(name)s.", name="村委会照片.png")]
        item = Evidence.objects.get()
        assert (item.original_name, item.size, item.uploaded_by) == (
            "村委会照片.png",
            len(png_bytes()),
            village_secretary,
        )
        listing = client.get(response.url)
        assert "村委会照片.png" in listing.content.decode()
        download = client.get(reverse("scoring:evidence_download", args=[item.pk]))
        assert b"".join(download.streaming_content) == png_bytes()
        assert "attachment" in download["Content-Disposition"]

    @pytest.mark.parametrize(
        ("name", "content", "msgid"),
        [
            (
                "setup.exe",
                b"MZ\x90\x00" + b"\x00" * 60,
                "Only JPG, PNG, PDF, DOCX and XLSX files can be attached.",
            ),
            (
                "photo.png",
                b"GIF89a not really a png",
                "The file's content does not match its type.",
            ),
            (
                "huge.png",
                png_bytes() + b"\x00" * (10 * 1024 * 1024),
                "The file is larger than %(mb)d MB.",
            ),
        ],
        ids=["exe", "fake-png", "over-10MB"],
    )
    def test_it_refuses_other_files(
        self, client, village_secretary, upload_url, name, content, msgid
    ):
        client.force_login(village_secretary)
        response = self.post(client, upload_url, name, content)
        assert response.status_code == 302
        assert messages_of(response) == [zh_plain(msgid) % {"mb": 10}]
        assert not Evidence.objects.exists()

    def test_it_needs_a_saved_score_first(self, client, village_secretary, catalogue, assessment_a):
        client.force_login(village_secretary)
        url = reverse(
            "scoring:evidence_upload", args=[assessment_a.pk, catalogue.shared_points[1].pk]
        )
        response = self.post(client, url, "photo.png", png_bytes())
        assert messages_of(response) == [
            zh_plain("Save a score for this indicator before attaching evidence.")
        ]
        assert not Evidence.objects.exists()

    def test_another_townships_file_is_not_found(self, client, stranger, evidence):
        client.force_login(stranger)
        url = reverse("scoring:evidence_download", args=[evidence.pk])
        assert client.get(url).status_code == 404

    def test_a_department_attaches_only_to_its_indicators(
        self, client, department_user, catalogue, period, unit_a
    ):
        assessment = assessment_at(period, unit_a, Stage.COUNTY, catalogue)
        client.force_login(department_user)
        for indicator in (catalogue.lead, catalogue.shared_points[0]):
            url = reverse("scoring:evidence_upload", args=[assessment.pk, indicator.pk])
            upload = SimpleUploadedFile("photo.png", png_bytes())
            client.post(url, {"file": upload, "stage": Stage.COUNTY})
        assert [e.score.indicator for e in Evidence.objects.all()] == [catalogue.lead]


# --- query budgets --------------------------------------------------------------------------


class TestQueryCounts:
    def test_the_entry_sheet_costs_the_same_for_3_and_30_indicators(
        self,
        client,
        django_assert_num_queries,
        township_official,
        village_secretary,
        county,
        department,
        unit_a,
    ):
        campaign = factories.CampaignFactory(region=county)
        period = factories.PeriodFactory(campaign=campaign, label="2026Q3")
        assessment = factories.AssessmentFactory(period=period, unit=unit_a, stage=Stage.TOWNSHIP)

        def add(n, dimension):
            items = factories.IndicatorFactory.create_batch(
                n, dimension=dimension, lead_department=department
            )
            factories.scores_fill(assessment, Stage.SELF, items, user=village_secretary)
            scores = factories.scores_fill(assessment, Stage.TOWNSHIP, items[:2])
            Evidence.objects.create(
                score=scores[0], file="evidence/x.png", original_name="x.png", size=1
            )

        add(3, factories.DimensionFactory(campaign=campaign))
        client.force_login(township_official)
        # session, user, the user's township (scope), the assessment, indicators, scores with
        # their evidence counts
        with django_assert_num_queries(6):
            response = client.get(entry_url(assessment))
        assert sum(len(b.rows) for b in response.context["sheet"]) == 3

        for _ in range(3):
            add(9, factories.DimensionFactory(campaign=campaign))
        with django_assert_num_queries(6):
            response = client.get(entry_url(assessment))
        assert sum(len(b.rows) for b in response.context["sheet"]) == 30

    def test_the_work_list_costs_the_same_for_1_and_30_units(
        self,
        client,
        django_assert_num_queries,
        django_assert_max_num_queries,
        county_staff,
        catalogue,
        period,
        unit_a,
        township_a,
        township_b,
    ):
        assessment_at(period, unit_a, Stage.TOWNSHIP, catalogue)
        client.force_login(county_staff)
        url = work_list_url(period)
        # session, user, the user's county (scope), period, page count, page, dimensions,
        # max points, stage totals, indicator counts, dimensions (columns), progress by
        # township, townships for the filter; the limit for this page is 15, whatever the rows
        with django_assert_max_num_queries(15) as one_unit:
            response = client.get(url)
        assert len(response.context["rows"]) == 1
        budget = len(one_unit.captured_queries)

        stages = [Stage.SELF, Stage.TOWNSHIP, Stage.COUNTY]
        for i in range(29):
            township = township_a if i % 2 else township_b
            unit = factories.UnitFactory(township=township, kind=UnitKind.VILLAGE)
            assessment_at(period, unit, stages[i % 3], catalogue)
        with django_assert_num_queries(budget):
            response = client.get(url)
        assert len(response.context["rows"]) == 30

"""Issue 12 "Frontline trust": typed rows saved (or named) on submit, an honest county finalise
with a confirmation step and a reopen with a reason, a township acting for a silent village
(代村提交), a fresh due date after a return, and the entry page saying what comes next."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.messages import get_messages
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from campaigns.models import IndicatorKind
from scoring import services
from scoring.errors import ScoringError
from scoring.inputs import ScoreInput
from scoring.models import (
    AssessmentEvent,
    AssessmentEventKind,
    ChangeSource,
    Score,
    ScoreChange,
    Stage,
)
from tests import factories
from tests.scenarios import assessment_at
from villages.errors import ErrorCode

pytestmark = pytest.mark.django_db


def zh(msgid: str, **params) -> str:
    with translation.override("zh-hans"):
        text = gettext(msgid)
        return text % params if params else text


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def refused(code: str, func, **kwargs) -> ScoringError:
    with pytest.raises(ScoringError) as info:
        func(**kwargs)
    assert info.value.code == code, info.value.message
    return info.value


def typed_rows(assessment, indicators, *, points: dict | None = None, notes: dict | None = None):
    """The entry form as a browser posts it: every row, full marks unless named."""
    points, notes = points or {}, notes or {}
    data = {"entry_stage": assessment.stage}
    for ind in indicators:
        prefix = f"i{ind.id}"
        data[f"{prefix}-version"] = "0"
        data[f"{prefix}-note"] = notes.get(ind.id, "")
        if ind.kind == IndicatorKind.VETO:
            data[f"{prefix}-vetoed"] = "no"
        elif ind.kind == IndicatorKind.BONUS:
            data[f"{prefix}-value"] = points.get(ind.id, "0")
        else:
            data[f"{prefix}-value"] = points.get(ind.id, str(ind.max_points))
    return data


# --- A. typed but unsaved rows go with the submit -------------------------------------------


class TestSubmitCarriesTypedRows:
    def test_typed_rows_are_saved_then_submitted(
        self, client, village_secretary, catalogue, assessment_a
    ):
        indicators = catalogue.for_kind(assessment_a.unit.kind)
        data = typed_rows(assessment_a, indicators)
        data["version"] = str(assessment_a.version)
        client.force_login(village_secretary)
        response = client.post(reverse("scoring:submit", args=[assessment_a.pk]), data)
        assert response.status_code == 302
        assessment_a.refresh_from_db()
        assert assessment_a.stage == Stage.TOWNSHIP, messages_of(response)
        saved = ScoreChange.objects.filter(assessment=assessment_a, stage=Stage.SELF)
        assert saved.count() == len(indicators)
        assert set(saved.values_list("source", flat=True)) == {ChangeSource.WEB}
        assert set(saved.values_list("changed_by", flat=True)) == {village_secretary.id}

    def test_an_invalid_typed_row_is_named_and_nothing_moves(
        self, client, village_secretary, catalogue, assessment_a
    ):
        indicators = catalogue.for_kind(assessment_a.unit.kind)
        wrong = catalogue.shared_points[0]
        data = typed_rows(assessment_a, indicators, points={wrong.id: "三十"})
        data["version"] = str(assessment_a.version)
        client.force_login(village_secretary)
        response = client.post(reverse("scoring:submit", args=[assessment_a.pk]), data)
        assert response.status_code == 200
        assessment_a.refresh_from_db()
        assert assessment_a.stage == Stage.SELF
        assert not Score.objects.filter(assessment=assessment_a).exists()
        names = f"{wrong.code} {wrong.title}"
        assert zh(
            "Not submitted: these rows were typed but cannot be saved: %(rows)s. Fix them first.",
            rows=names,
        ) in messages_of(response)
        content = response.content.decode()
        assert 'value="三十"' in content  # what was typed is still there
        assert f'id="row-{wrong.id}" data-unsaved="1"' in content

    def test_a_plain_submit_without_rows_still_works(
        self, client, village_secretary, catalogue, period, unit_a
    ):
        assessment = assessment_at(period, unit_a, Stage.SELF, catalogue)
        client.force_login(village_secretary)
        client.post(reverse("scoring:submit", args=[assessment.pk]), {"version": "1"})
        assessment.refresh_from_db()
        assert assessment.stage == Stage.TOWNSHIP

    def test_the_entry_page_sends_its_rows_with_the_submit_button(
        self, client, village_secretary, assessment_a, catalogue
    ):
        client.force_login(village_secretary)
        content = client.get(reverse("scoring:entry", args=[assessment_a.pk])).content.decode()
        assert 'form="entry-form"' in content
        assert f'formaction="{reverse("scoring:submit", args=[assessment_a.pk])}"' in content
        assert 'name="entry_stage" value="self"' in content


# --- B. county finalise: confirmation, and reopening ----------------------------------------


@pytest.fixture
def at_county(period, unit_a, catalogue):
    return assessment_at(period, unit_a, Stage.COUNTY, catalogue)


def bulk_url(period) -> str:
    return reverse("scoring:bulk_submit", args=[period.campaign.slug, period.label])


class TestBulkFinalise:
    def test_the_work_list_says_finalise_and_lock(self, client, county_staff, period, at_county):
        client.force_login(county_staff)
        response = client.get(reverse("scoring:work_list", args=[period.campaign.slug, "2026Q3"]))
        content = response.content.decode()
        assert zh("Finalise and lock ticked units") in content
        assert zh("Submit ticked units") not in content

    def test_it_asks_first_naming_the_units_and_their_number(
        self, client, county_staff, period, at_county
    ):
        client.force_login(county_staff)
        response = client.post(bulk_url(period), {"ids": [str(at_county.pk)]})
        assert response.status_code == 200
        content = response.content.decode()
        assert at_county.unit.name in content
        with translation.override("zh-hans"):
            button = translation.ngettext(
                "Finalise and lock %(n)s unit", "Finalise and lock %(n)s units", 1
            ) % {"n": 1}
        assert button in content
        assert 'name="confirm"' in content and "required" in content
        at_county.refresh_from_db()
        assert at_county.stage == Stage.COUNTY

    def test_without_the_tick_it_asks_again(self, client, county_staff, period, at_county):
        client.force_login(county_staff)
        response = client.post(bulk_url(period), {"ids": [str(at_county.pk)], "confirm_shown": "1"})
        assert response.status_code == 200
        assert zh("Tick the box to confirm.") in response.content.decode()
        at_county.refresh_from_db()
        assert at_county.stage == Stage.COUNTY

    def test_confirmed_it_finalises_and_says_so(self, client, county_staff, period, at_county):
        client.force_login(county_staff)
        response = client.post(bulk_url(period), {"ids": [str(at_county.pk)], "confirm": "1"})
        assert response.status_code == 302
        at_county.refresh_from_db()
        assert at_county.stage == Stage.FINAL
        assert zh("%(n)d finalised and locked.", n=1) in messages_of(response)

    def test_a_township_bulk_submit_needs_no_confirmation(
        self, client, township_official, period, unit_a, catalogue
    ):
        assessment = assessment_at(period, unit_a, Stage.TOWNSHIP, catalogue)
        client.force_login(township_official)
        response = client.post(bulk_url(period), {"ids": [str(assessment.pk)]})
        assert response.status_code == 302
        assessment.refresh_from_db()
        assert assessment.stage == Stage.COUNTY


@pytest.fixture
def final(period, unit_a, catalogue, county_staff):
    return assessment_at(period, unit_a, Stage.FINAL, catalogue, finaliser=county_staff)


class TestReopen:
    def test_county_staff_reopen_with_a_reason(self, county_staff, final):
        done = services.assessment_reopen(
            user=county_staff, assessment_id=final.pk, reason="复核发现1.1计分错误"
        )
        assert (done.stage, done.version) == (Stage.COUNTY, final.version + 1)
        assert (done.finalised_at, done.finalised_by) == (None, None)
        event = AssessmentEvent.objects.get(assessment=final)
        assert (event.kind, event.from_stage, event.to_stage) == (
            AssessmentEventKind.REOPEN,
            Stage.FINAL,
            Stage.COUNTY,
        )
        assert (event.actor, event.reason) == (county_staff, "复核发现1.1计分错误")
        # The county can change a score and finalise again.
        services.assessment_submit(user=county_staff, assessment_id=final.pk)
        final.refresh_from_db()
        assert final.stage == Stage.FINAL

    def test_a_reason_is_required(self, county_staff, final):
        error = refused(
            ErrorCode.REQUIRED,
            services.assessment_reopen,
            user=county_staff,
            assessment_id=final.pk,
            reason="  ",
        )
        assert error.field == "reason"

    @pytest.mark.parametrize("role", ["township_official", "leader", "department_user"])
    def test_only_county_staff(self, request, final, role):
        user = request.getfixturevalue(role)
        refused(
            ErrorCode.FORBIDDEN,
            services.assessment_reopen,
            user=user,
            assessment_id=final.pk,
            reason="理由",
        )

    def test_only_a_final_assessment(self, county_staff, at_county):
        refused(
            ErrorCode.WRONG_STAGE,
            services.assessment_reopen,
            user=county_staff,
            assessment_id=at_county.pk,
            reason="理由",
        )

    def test_not_in_a_closed_period(self, county_staff, final, period):
        period.status = "closed"
        period.save()
        refused(
            ErrorCode.LOCKED,
            services.assessment_reopen,
            user=county_staff,
            assessment_id=final.pk,
            reason="理由",
        )

    def test_a_stale_version_is_refused(self, county_staff, final):
        refused(
            ErrorCode.STALE,
            services.assessment_reopen,
            user=county_staff,
            assessment_id=final.pk,
            reason="理由",
            expected_version=final.version + 5,
        )

    def test_the_event_needs_its_reason_in_the_database_too(self, county_staff, final):
        with pytest.raises(IntegrityError), transaction.atomic():
            AssessmentEvent.objects.create(
                assessment=final,
                kind=AssessmentEventKind.REOPEN,
                from_stage=Stage.FINAL,
                to_stage=Stage.COUNTY,
                actor=county_staff,
            )

    def test_from_the_entry_page_and_seen_in_the_history(self, client, county_staff, final):
        client.force_login(county_staff)
        page = client.get(reverse("scoring:entry", args=[final.pk])).content.decode()
        assert 'id="reopen-form"' in page
        response = client.post(
            reverse("scoring:reopen", args=[final.pk]),
            {"reason": "复核发现计分错误", "version": str(final.version)},
        )
        assert response.status_code == 302
        final.refresh_from_db()
        assert final.stage == Stage.COUNTY
        history = client.get(reverse("scoring:history", args=[final.pk])).content.decode()
        assert zh("Reopened") in history
        assert "复核发现计分错误" in history

    def test_the_township_sees_no_reopen_form(self, client, township_official, final):
        client.force_login(township_official)
        page = client.get(reverse("scoring:entry", args=[final.pk])).content.decode()
        assert 'id="reopen-form"' not in page


# --- C. acting for a silent village ---------------------------------------------------------


class TestOnBehalf:
    def test_the_township_passes_a_silent_village_on_with_a_reason(
        self, township_official, assessment_a
    ):
        done = services.assessment_submit_on_behalf(
            user=township_official, assessment_id=assessment_a.pk, reason="村书记住院，逾期未自评"
        )
        assert (done.stage, done.version) == (Stage.TOWNSHIP, assessment_a.version + 1)
        event = AssessmentEvent.objects.get(assessment=assessment_a)
        assert (event.kind, event.actor, event.reason) == (
            AssessmentEventKind.ON_BEHALF,
            township_official,
            "村书记住院，逾期未自评",
        )

    def test_what_the_village_did_score_is_carried(
        self, township_official, village_secretary, catalogue, assessment_a
    ):
        first = catalogue.shared_points[0]
        services.scores_save(
            user=village_secretary, stage=Stage.SELF, inputs=[_input(assessment_a, first)]
        )
        services.assessment_submit_on_behalf(
            user=township_official, assessment_id=assessment_a.pk, reason="逾期未提交"
        )
        carried = Score.objects.get(assessment=assessment_a, stage=Stage.TOWNSHIP)
        assert (carried.indicator_id, carried.value) == (first.id, first.max_points)

    def test_a_reason_is_required(self, township_official, assessment_a):
        refused(
            ErrorCode.REQUIRED,
            services.assessment_submit_on_behalf,
            user=township_official,
            assessment_id=assessment_a.pk,
            reason="",
        )

    @pytest.mark.parametrize("role", ["village_secretary", "county_staff", "stranger"])
    def test_only_the_units_township(self, request, assessment_a, role):
        refused(
            ErrorCode.FORBIDDEN,
            services.assessment_submit_on_behalf,
            user=request.getfixturevalue(role),
            assessment_id=assessment_a.pk,
            reason="理由",
        )

    def test_only_at_the_self_stage(self, township_official, period, unit_a, catalogue):
        assessment = assessment_at(period, unit_a, Stage.TOWNSHIP, catalogue)
        refused(
            ErrorCode.FORBIDDEN,
            services.assessment_submit_on_behalf,
            user=township_official,
            assessment_id=assessment.pk,
            reason="理由",
        )

    def test_from_the_entry_page(self, client, township_official, village_secretary, assessment_a):
        client.force_login(village_secretary)
        page = client.get(reverse("scoring:entry", args=[assessment_a.pk])).content.decode()
        assert 'id="on-behalf-form"' not in page
        client.force_login(township_official)
        page = client.get(reverse("scoring:entry", args=[assessment_a.pk])).content.decode()
        assert 'id="on-behalf-form"' in page
        response = client.post(
            reverse("scoring:submit_on_behalf", args=[assessment_a.pk]),
            {"reason": "逾期未自评", "version": str(assessment_a.version)},
        )
        assert response.status_code == 302
        assessment_a.refresh_from_db()
        assert assessment_a.stage == Stage.TOWNSHIP
        history = client.get(reverse("scoring:history", args=[assessment_a.pk])).content.decode()
        assert zh("Submitted on the village's behalf") in history

    def test_silent_units_come_first_on_the_townships_work_list(
        self, client, monkeypatch, township_official, county_staff, period, catalogue, township_a
    ):
        # 2026-10-05: the self stage was due on 09-30.
        monkeypatch.setattr(timezone, "now", lambda: dt.datetime(2026, 10, 5, 2, tzinfo=dt.UTC))
        early = factories.UnitFactory(township=township_a, name="甲村", code="410527100101")
        late = factories.UnitFactory(township=township_a, name="乙村", code="410527100102")
        done = factories.UnitFactory(township=township_a, name="丙村", code="410527100103")
        assessment_at(period, early, Stage.SELF, catalogue)  # complete, not yet submitted
        factories.AssessmentFactory(period=period, unit=late)  # nothing scored: silent
        assessment_at(period, done, Stage.TOWNSHIP, catalogue)
        url = reverse("scoring:work_list", args=[period.campaign.slug, period.label])
        client.force_login(township_official)
        response = client.get(url)
        names = [a.unit.name for a in response.context["rows"]]
        assert names == ["乙村", "甲村", "丙村"]
        assert zh("no self-assessment") in response.content.decode()
        # Other roles keep the code order; no silent badge.
        client.force_login(county_staff)
        names = [a.unit.name for a in client.get(url).context["rows"]]
        assert names == ["甲村", "乙村", "丙村"]


def _input(assessment, indicator) -> ScoreInput:
    return ScoreInput(
        assessment_id=assessment.pk,
        indicator_id=indicator.id,
        value=indicator.max_points,
        vetoed=None,
        note="",
    )


# --- D. a returned assessment gets a fresh due date -----------------------------------------


class TestReturnDueDate:
    def test_return_sets_a_due_date_and_submit_clears_it(
        self, monkeypatch, township_official, village_secretary, period, unit_a, catalogue
    ):
        monkeypatch.setattr(timezone, "now", lambda: dt.datetime(2026, 10, 5, 2, tzinfo=dt.UTC))
        campaign = period.campaign
        campaign.return_days = 5
        campaign.save()
        assessment = assessment_at(period, unit_a, Stage.TOWNSHIP, catalogue)
        factories.scores_fill(assessment, Stage.SELF, catalogue.for_kind(unit_a.kind))
        done = services.assessment_return(
            user=township_official, assessment_id=assessment.pk, reason="请补充台账"
        )
        assert done.due_on == dt.date(2026, 10, 10)
        assert done.due == dt.date(2026, 10, 10)  # not the period's 09-30
        assert not done.is_overdue()
        assert done.is_overdue(dt.date(2026, 10, 11))
        services.assessment_submit(user=village_secretary, assessment_id=assessment.pk)
        assessment.refresh_from_db()
        assert assessment.due_on is None
        assert assessment.due == period.township_due

    def test_the_work_list_and_entry_page_show_it(
        self, client, monkeypatch, township_official, village_secretary, period, unit_a, catalogue
    ):
        monkeypatch.setattr(timezone, "now", lambda: dt.datetime(2026, 10, 5, 2, tzinfo=dt.UTC))
        assessment = assessment_at(period, unit_a, Stage.TOWNSHIP, catalogue)
        services.assessment_return(
            user=township_official, assessment_id=assessment.pk, reason="请补充台账"
        )
        client.force_login(village_secretary)
        url = reverse("scoring:work_list", args=[period.campaign.slug, period.label])
        row = client.get(url).context["rows"][0]
        assert (row.due, row.overdue) == (dt.date(2026, 10, 12), False)
        page = client.get(reverse("scoring:entry", args=[assessment.pk])).content.decode()
        assert "2026-10-12" in page
        assert 'id="next-step"' in page
        assert zh("Due by %(date)s.", date="2026-10-12") in page


# --- E. the entry page, phone first (server side) --------------------------------------------


class TestEntryPage:
    def test_each_dimension_is_a_section_with_its_scored_count(
        self, client, village_secretary, catalogue, assessment_a
    ):
        first = catalogue.shared_points[0]
        services.scores_save(
            user=village_secretary, stage=Stage.SELF, inputs=[_input(assessment_a, first)]
        )
        client.force_login(village_secretary)
        page = client.get(reverse("scoring:entry", args=[assessment_a.pk])).content.decode()
        shared = len(catalogue.for_kind("community"))
        assert f'<details class="card mb-3 dimension" id="dim-{catalogue.shared.id}"' in page
        assert f'id="dim-count-{catalogue.shared.id}" title="{zh("scored")}">1/{shared}<' in page

    def test_the_next_step_names_the_empty_rows(self, client, village_secretary, assessment_a):
        client.force_login(village_secretary)
        page = client.get(reverse("scoring:entry", args=[assessment_a.pk])).content.decode()
        assert 'id="next-step"' in page
        assert zh("Due by %(date)s.", date="2026-09-30") in page

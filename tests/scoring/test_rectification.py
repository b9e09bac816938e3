"""Rectification (整改): items opened when the county finalises, the steps each role may take,
events naming who took them, overdue by the Asia/Shanghai calendar day, the ledger and notice.

The county in tests/conftest.py: 东街村 in 城关镇 (A) belongs to the village secretary and to the
township official of A; the stranger is the township official of 东庄镇 (B).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from scoring.errors import ScoringError
from scoring.models import (
    Assessment,
    RectificationAction,
    RectificationEvent,
    RectificationItem,
    RectificationStatus,
    ScoreStage,
    Stage,
)
from scoring.services import assessments_submit, rectification_allowed, rectification_step
from tests import factories, scenarios

pytestmark = pytest.mark.django_db

OPEN = RectificationStatus.OPEN
REPORTED = RectificationStatus.REPORTED
VERIFIED = RectificationStatus.VERIFIED
CLOSED = RectificationStatus.CLOSED
ASSIGN = RectificationAction.ASSIGN
REPORT = RectificationAction.REPORT
VERIFY = RectificationAction.VERIFY
CLOSE = RectificationAction.CLOSE
SEND_BACK = RectificationAction.SEND_BACK

ROLES = [
    "county_staff",
    "leader",
    "township_official",
    "village_secretary",
    "department",
    "stranger",
    "superuser",
    "no_role",
]

# Who may take which step from which status on an item of 东街村; nobody else, nothing else.
ALLOWED = {
    (OPEN, ASSIGN): {"county_staff", "township_official", "superuser"},
    (OPEN, REPORT): {"village_secretary", "township_official", "superuser"},
    (REPORTED, VERIFY): {"township_official", "superuser"},
    (REPORTED, SEND_BACK): {"township_official", "superuser"},
    (VERIFIED, CLOSE): {"county_staff", "superuser"},
    (VERIFIED, SEND_BACK): {"county_staff", "superuser"},
}
TARGET = {ASSIGN: OPEN, REPORT: REPORTED, VERIFY: VERIFIED, CLOSE: CLOSED, SEND_BACK: OPEN}

SPECS = (
    scenarios.Spec(
        "dangjian",
        "党建引领",
        (("1.1", "40"), ("1.2", "30"), ("1.3", "30")),
        veto="1.4",
        bonus=("1.5", "5"),
        bonus_cap="5",
    ),
    scenarios.Spec("chanye", "产业兴旺", (("2.1", "60"), ("2.2", "40"))),
)

DEADLINE = dt.date(2026, 10, 14)
# Sending back sets a new deadline, not in the past.
NEW_DEADLINE = timezone.localdate() + dt.timedelta(days=7)


@pytest.fixture(autouse=True)
def _media(media):
    """Reports of completion carry evidence: the files go to the test's own folder."""


def photo(name: str = "photo.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"\xff\xd8\xff\xe0" + b"0" * 64, "image/jpeg")


def sent_back_note(reason: str, deadline: dt.date = NEW_DEADLINE) -> str:
    """A send-back event's note: the reason and the new deadline."""
    return msg("%(reason)s (new deadline %(date)s)", reason=reason, date=deadline.isoformat())


def msg(msgid: str, **params) -> str:
    text = gettext(msgid)
    return text % params if params else text


@pytest.fixture
def built(county):
    return scenarios.campaign_build(region=county, slug="zhenggai", specs=SPECS)


@pytest.fixture
def q3(built):
    return scenarios.period_build(built, "2026Q3")


def item_for(built, period, unit, code: str, status=OPEN, *, assigned=True, **fields):
    """An item of `unit`'s final assessment in `period` on indicator `code`."""
    assessment = Assessment.objects.filter(period=period, unit=unit).first()
    if assessment is None:
        assessment = factories.AssessmentFactory(
            period=period, unit=unit, stage=Stage.FINAL, finalised_at=timezone.now()
        )
    if assigned:
        fields = {
            "responsible_person": "李主任",
            "measure": "补齐台账",
            "deadline": dt.date(2026, 12, 31),
            **fields,
        }
    if status == CLOSED:
        fields.setdefault("closed_at", timezone.now())
    fields.setdefault("lost_note", f"扣分{code}")
    return RectificationItem.objects.create(
        assessment=assessment,
        indicator=built.indicators[code],
        points_lost=D("5"),
        status=status,
        **fields,
    )


def step_kwargs(action) -> dict:
    """Arguments that make a step valid when the role and status allow it."""
    if action == ASSIGN:
        return {"responsible_person": "王委员", "measure": "重新建档", "deadline": DEADLINE}
    if action == REPORT:
        return {"note": f"{action}说明", "attachment": photo()}
    if action == SEND_BACK:
        return {"note": f"{action}说明", "deadline": NEW_DEADLINE}
    return {}


class TestOpenedOnFinalise:
    def test_one_item_per_deduction_and_none_for_full_marks(
        self, built, q3, unit_a, unit_b, county_staff
    ):
        deducted = factories.AssessmentFactory(period=q3, unit=unit_a, stage=Stage.COUNTY)
        full = factories.AssessmentFactory(period=q3, unit=unit_b, stage=Stage.COUNTY)
        # The township had deducted on 1.2; the county's full marks are what count.
        scenarios.county_scores(built, deducted, {"1.2": "20"}, stage=ScoreStage.TOWNSHIP)
        scenarios.county_scores(built, deducted, {"1.1": "35", "2.1": "50"}, bonus={"1.5": "2"})
        scenarios.county_scores(built, full)

        done, refused = assessments_submit(user=county_staff, assessment_ids=[deducted.id, full.id])

        assert refused == []
        assert {a.stage for a in done} == {Stage.FINAL}
        items = RectificationItem.objects.select_related("indicator").order_by("indicator__code")
        assert [
            (i.assessment_id, i.indicator.code, i.points_lost, i.lost_note, i.status) for i in items
        ] == [
            (deducted.id, "1.1", D("5.00"), "扣分1.1", OPEN),
            (deducted.id, "2.1", D("10.00"), "扣分2.1", OPEN),
        ]
        assert all(i.responsible_person == "" and i.deadline is None for i in items)

    def test_passing_on_from_the_township_opens_nothing(self, built, q3, unit_a, township_official):
        a = factories.AssessmentFactory(period=q3, unit=unit_a, stage=Stage.TOWNSHIP)
        scenarios.county_scores(built, a, {"1.1": "35"}, stage=ScoreStage.TOWNSHIP)
        done, _refused = assessments_submit(user=township_official, assessment_ids=[a.id])
        assert done[0].stage == Stage.COUNTY
        assert not RectificationItem.objects.exists()


class TestWhoMayDoWhat:
    @pytest.fixture
    def items(self, built, q3, unit_a):
        codes = {OPEN: "1.1", REPORTED: "1.2", VERIFIED: "1.3", CLOSED: "2.1"}
        return {
            status: RectificationItem.objects.select_related("assessment__unit").get(
                pk=item_for(built, q3, unit_a, code, status).pk
            )
            for status, code in codes.items()
        }

    def test_the_matrix(self, items, users):
        got = {
            (status, action): {
                role for role in ROLES if rectification_allowed(users[role], items[status], action)
            }
            for status in items
            for action in RectificationAction.values
        }
        expected = {
            (status, action): ALLOWED.get((status, action), set())
            for status in items
            for action in RectificationAction.values
        }
        assert got == expected

    def test_every_step_not_allowed_is_refused_and_writes_nothing(self, items, users):
        let_through = []
        for status, item in items.items():
            for action in RectificationAction.values:
                for role in ROLES:
                    if role in ALLOWED.get((status, action), set()):
                        continue
                    try:
                        rectification_step(
                            user=users[role], item_id=item.id, action=action, **step_kwargs(action)
                        )
                    except ScoringError:
                        continue
                    let_through.append((status, action, role))
        assert let_through == []
        assert not RectificationEvent.objects.exists()
        assert [RectificationItem.objects.get(pk=i.pk).status for i in items.values()] == list(
            items
        )

    @pytest.mark.parametrize("status", [OPEN, CLOSED])
    def test_not_even_a_superuser_sends_back_what_is_not_waiting_for_a_check(
        self, items, superuser, status
    ):
        # Sending back answers a report (township) or a verification (county). From open it
        # is a step that changes nothing; from closed it would reopen a closed-out (销号) item
        # behind the county's back, keeping its closed_at and closed_by.
        with pytest.raises(ScoringError):
            rectification_step(
                user=superuser, item_id=items[status].id, action=SEND_BACK, note="重新整改"
            )
        assert RectificationItem.objects.get(pk=items[status].pk).status == status

    @pytest.mark.parametrize(
        ("status", "action", "role"),
        sorted((s, a, r) for (s, a), roles in ALLOWED.items() for r in roles),
    )
    def test_every_allowed_step_is_an_event_naming_the_actor(
        self, items, users, status, action, role
    ):
        user = users[role]
        item = rectification_step(
            user=user, item_id=items[status].id, action=action, **step_kwargs(action)
        )
        assert item.status == TARGET[action]
        event = RectificationEvent.objects.get()
        assert (event.item_id, event.action, event.from_status, event.to_status) == (
            item.id,
            action,
            status,
            TARGET[action],
        )
        assert event.actor == user
        if action == ASSIGN:
            assert event.note == "重新建档"
            assert (item.responsible_person, item.measure, item.deadline) == (
                "王委员",
                "重新建档",
                DEADLINE,
            )
        elif action == REPORT:
            assert event.note == f"{action}说明"
            assert event.attachment
        elif action == SEND_BACK:
            assert event.note == sent_back_note(f"{action}说明")
            assert item.deadline == NEW_DEADLINE

    def test_an_unknown_step_is_refused(self, items, county_staff):
        with pytest.raises(ScoringError):
            rectification_step(user=county_staff, item_id=items[OPEN].id, action="approve")


class TestSteps:
    def test_the_whole_way_with_two_send_backs(
        self, built, q3, unit_a, county_staff, township_official, village_secretary
    ):
        item = item_for(built, q3, unit_a, "1.1", assigned=False)

        def step(user, action, **kwargs):
            return rectification_step(user=user, item_id=item.id, action=action, **kwargs)

        step(
            township_official,
            ASSIGN,
            responsible_person="李主任",
            measure="补齐三会一课记录",
            deadline=DEADLINE,
        )
        step(village_secretary, REPORT, note="已补齐", attachment=photo())
        step(township_official, SEND_BACK, note="缺少会议照片", deadline=NEW_DEADLINE)
        step(village_secretary, REPORT, note="已补照片", attachment=photo())
        step(township_official, VERIFY)
        step(county_staff, SEND_BACK, note="县级抽查不合格", deadline=NEW_DEADLINE)
        step(township_official, REPORT, note="镇里督促完成", attachment=photo())
        step(township_official, VERIFY)
        item = step(county_staff, CLOSE)

        assert item.status == CLOSED
        assert item.closed_by == county_staff and item.closed_at is not None
        assert item.verified_by == township_official
        assert item.reported_by == township_official
        assert item.report_note == "镇里督促完成"
        assert item.sent_back_reason == "县级抽查不合格"
        events = list(
            RectificationEvent.objects.filter(item=item)
            .order_by("at", "id")
            .values_list("action", "from_status", "to_status", "actor__username", "note")
        )
        assert events == [
            (ASSIGN, OPEN, OPEN, "chengguan", "补齐三会一课记录"),
            (REPORT, OPEN, REPORTED, "dongjie", "已补齐"),
            (SEND_BACK, REPORTED, OPEN, "chengguan", sent_back_note("缺少会议照片")),
            (REPORT, OPEN, REPORTED, "dongjie", "已补照片"),
            (VERIFY, REPORTED, VERIFIED, "chengguan", ""),
            (SEND_BACK, VERIFIED, OPEN, "zuzhibu", sent_back_note("县级抽查不合格")),
            (REPORT, OPEN, REPORTED, "chengguan", "镇里督促完成"),
            (VERIFY, REPORTED, VERIFIED, "chengguan", ""),
            (CLOSE, VERIFIED, CLOSED, "zuzhibu", ""),
        ]

    def test_a_report_needs_an_assignment_first(self, built, q3, unit_a, village_secretary):
        item = item_for(built, q3, unit_a, "1.1", assigned=False)
        with pytest.raises(ScoringError) as excinfo:
            rectification_step(user=village_secretary, item_id=item.id, action=REPORT, note="做了")
        assert excinfo.value.message == msg(
            "The township has not assigned a person, measure and deadline yet."
        )
        assert not RectificationEvent.objects.exists()

    @pytest.mark.parametrize("note", ["", "  "])
    def test_a_report_needs_a_note(self, built, q3, unit_a, village_secretary, note):
        item = item_for(built, q3, unit_a, "1.1")
        with pytest.raises(ScoringError) as excinfo:
            rectification_step(user=village_secretary, item_id=item.id, action=REPORT, note=note)
        assert excinfo.value.field == "note"
        item.refresh_from_db()
        assert item.status == OPEN

    @pytest.mark.parametrize(
        ("missing", "field"),
        [
            ({"responsible_person": " "}, "responsible_person"),
            ({"measure": ""}, "measure"),
            ({"deadline": None}, "deadline"),
        ],
    )
    def test_an_assignment_needs_person_measure_and_deadline(
        self, built, q3, unit_a, township_official, missing, field
    ):
        item = item_for(built, q3, unit_a, "1.1", assigned=False)
        kwargs = {**step_kwargs(ASSIGN), **missing}
        with pytest.raises(ScoringError) as excinfo:
            rectification_step(user=township_official, item_id=item.id, action=ASSIGN, **kwargs)
        assert excinfo.value.field == field
        item.refresh_from_db()
        assert item.responsible_person == ""
        assert not RectificationEvent.objects.exists()

    @pytest.mark.parametrize(
        ("status", "role"), [(REPORTED, "township_official"), (VERIFIED, "county_staff")]
    )
    def test_sending_back_needs_a_reason(self, built, q3, unit_a, users, status, role):
        item = item_for(built, q3, unit_a, "1.1", status)
        with pytest.raises(ScoringError) as excinfo:
            rectification_step(user=users[role], item_id=item.id, action=SEND_BACK, note=" ")
        assert excinfo.value.field == "note"
        item.refresh_from_db()
        assert item.status == status

    def test_a_stranger_is_refused(self, built, q3, unit_a, stranger):
        item = item_for(built, q3, unit_a, "1.1", REPORTED)
        with pytest.raises(ScoringError):
            rectification_step(user=stranger, item_id=item.id, action=VERIFY)
        item.refresh_from_db()
        assert item.status == REPORTED


class TestDetailPage:
    def url(self, item) -> str:
        return reverse("scoring:rectification_detail", args=[item.pk])

    @pytest.mark.parametrize(
        ("role", "forms"),
        [
            ("township_official", {"assign", "report"}),
            ("village_secretary", {"report"}),
            ("county_staff", {"assign"}),
            ("leader", set()),
        ],
    )
    def test_it_offers_the_steps_the_user_may_take(
        self, client, built, q3, unit_a, users, role, forms
    ):
        item = item_for(built, q3, unit_a, "1.1")
        client.force_login(users[role])
        response = client.get(self.url(item))
        assert response.status_code == 200
        assert {value for value, _label in response.context["allowed"]} == forms
        content = response.content.decode()
        for action in RectificationAction.values:
            assert (f'id="step-{action}"' in content) is (action in forms)

    def test_a_step_posted_is_saved_with_the_actor(
        self, client, built, q3, unit_a, township_official
    ):
        item = item_for(built, q3, unit_a, "1.1", assigned=False)
        client.force_login(township_official)
        response = client.post(
            self.url(item),
            {
                "action": ASSIGN,
                "responsible_person": "李主任",
                "measure": "补齐台账",
                "deadline": "2026-10-14",
            },
        )
        assert response.status_code == 302
        item.refresh_from_db()
        assert (item.responsible_person, item.deadline) == ("李主任", DEADLINE)
        event = RectificationEvent.objects.get()
        assert (event.action, event.actor) == (ASSIGN, township_official)
        page = client.get(self.url(item)).content.decode()
        assert "补齐台账" in page

    def test_a_report_keeps_its_attachment(
        self, client, built, q3, unit_a, village_secretary, settings, tmp_path
    ):
        settings.MEDIA_ROOT = tmp_path
        item = item_for(built, q3, unit_a, "1.1")
        client.force_login(village_secretary)
        upload = SimpleUploadedFile("photo.jpg", b"\xff\xd8\xff\xe0" + b"0" * 64, "image/jpeg")
        response = client.post(
            self.url(item), {"action": REPORT, "note": "已整改", "attachment": upload}
        )
        assert response.status_code == 302
        event = RectificationEvent.objects.get()
        assert (event.action, event.actor, event.note) == (REPORT, village_secretary, "已整改")
        assert event.attachment.name.endswith(".jpg")

    def test_it_refuses_an_attachment_that_is_not_what_it_claims(
        self, client, built, q3, unit_a, village_secretary, settings, tmp_path
    ):
        settings.MEDIA_ROOT = tmp_path
        item = item_for(built, q3, unit_a, "1.1")
        client.force_login(village_secretary)
        for upload in (
            SimpleUploadedFile("photo.jpg", b"MZ\x90\x00 not a jpeg", "image/jpeg"),
            SimpleUploadedFile("tool.exe", b"MZ\x90\x00", "application/octet-stream"),
        ):
            response = client.post(
                self.url(item), {"action": REPORT, "note": "已整改", "attachment": upload}
            )
            assert response.status_code == 200
        item.refresh_from_db()
        assert item.status == OPEN
        assert not RectificationEvent.objects.exists()

    def test_an_attachment_downloads_only_inside_the_scope(
        self,
        client,
        built,
        q3,
        unit_a,
        village_secretary,
        township_official,
        stranger,
        settings,
        tmp_path,
    ):
        settings.MEDIA_ROOT = tmp_path
        item = item_for(built, q3, unit_a, "1.1")
        upload = SimpleUploadedFile("photo.png", b"\x89PNG\r\n\x1a\n" + b"0" * 32, "image/png")
        rectification_step(
            user=village_secretary, item_id=item.pk, action=REPORT, note="已整改", attachment=upload
        )
        event = RectificationEvent.objects.get()
        url = reverse("scoring:rectification_attachment", args=[event.pk])
        assert client.get(url).status_code == 302  # anonymous: to the login page
        client.force_login(stranger)
        assert client.get(url).status_code == 404
        client.force_login(township_official)
        response = client.get(url)
        assert response.status_code == 200
        assert b"".join(response.streaming_content).startswith(b"\x89PNG")
        page = client.get(self.url(item)).content.decode()
        assert url in page
        assert "/media/" not in page

    def test_a_refused_step_shows_the_error_and_changes_nothing(
        self, client, built, q3, unit_a, township_official
    ):
        item = item_for(built, q3, unit_a, "1.1")
        client.force_login(township_official)
        response = client.post(self.url(item), {"action": REPORT, "note": ""})
        assert response.status_code == 200
        assert msg("Say what was done.") in response.content.decode()
        assert not RectificationEvent.objects.exists()

    def test_a_leader_posting_a_step_changes_nothing(self, client, built, q3, unit_a, leader):
        item = item_for(built, q3, unit_a, "1.1", VERIFIED)
        client.force_login(leader)
        response = client.post(self.url(item), {"action": CLOSE})
        assert response.status_code == 200
        item.refresh_from_db()
        assert item.status == VERIFIED
        assert not RectificationEvent.objects.exists()

    def test_a_stranger_gets_404(self, client, built, q3, unit_a, stranger):
        item = item_for(built, q3, unit_a, "1.1", REPORTED)
        client.force_login(stranger)
        assert client.get(self.url(item)).status_code == 404
        assert client.post(self.url(item), {"action": VERIFY}).status_code == 404
        item.refresh_from_db()
        assert item.status == REPORTED

    def test_a_secretary_of_another_unit_gets_404(self, client, built, q3, unit_a, unit_b):
        item = item_for(built, q3, unit_b, "1.1")
        client.force_login(factories.VillageSecretaryFactory(unit=unit_a))
        assert client.get(self.url(item)).status_code == 404


def freeze(monkeypatch, moment: dt.datetime) -> None:
    """Make it `moment` for everything that asks django.utils.timezone (localdate included)."""
    monkeypatch.setattr(timezone, "now", lambda: moment)


class TestOverdue:
    """An item due on D is overdue from 00:00 on D+1 in Shanghai, while UTC is still on D."""

    BEFORE = scenarios.shanghai(2026, 10, 14, 23, 59)  # 15:59 UTC on D
    AFTER = scenarios.shanghai(2026, 10, 15, 0, 1)  # 16:01 UTC, still D in UTC

    @pytest.fixture
    def due(self, built, q3, unit_a, unit_b):
        """Open and due on D in A; open and due the day before in B; reported and long due."""
        return {
            "on_d": item_for(built, q3, unit_a, "1.1", deadline=DEADLINE),
            "day_before": item_for(built, q3, unit_b, "1.1", deadline=DEADLINE - dt.timedelta(1)),
            "reported": item_for(built, q3, unit_a, "1.2", REPORTED, deadline=dt.date(2026, 1, 1)),
        }

    def test_the_moments_straddle_the_shanghai_midnight_but_not_the_utc_one(self):
        assert self.AFTER.astimezone(dt.UTC).date() == DEADLINE
        assert self.BEFORE.astimezone(dt.UTC).date() == DEADLINE
        assert (self.AFTER - self.BEFORE).total_seconds() == 120

    @pytest.mark.parametrize(
        ("moment", "overdue"),
        [(BEFORE, {"day_before"}), (AFTER, {"on_d", "day_before"})],
    )
    def test_the_overdue_filter(self, client, monkeypatch, due, county_staff, moment, overdue):
        freeze(monkeypatch, moment)
        client.force_login(county_staff)
        url = reverse("scoring:rectification_list", args=["zhenggai"])
        response = client.get(url, {"overdue": "1"})
        assert response.status_code == 200
        names = {v.pk: k for k, v in due.items()}
        assert {names[i.pk] for i in response.context["page"]} == overdue

    @pytest.mark.parametrize(
        ("moment", "overdue"),
        [(BEFORE, {"day_before"}), (AFTER, {"on_d", "day_before"})],
    )
    def test_the_marking_in_the_list(self, client, monkeypatch, due, county_staff, moment, overdue):
        freeze(monkeypatch, moment)
        client.force_login(county_staff)
        response = client.get(reverse("scoring:rectification_list", args=["zhenggai"]))
        names = {v.pk: k for k, v in due.items()}
        page = list(response.context["page"])
        assert {names[i.pk] for i in page} == set(due)
        assert {names[i.pk] for i in page if i.overdue} == overdue
        assert response.content.decode().count('class="table-danger"') == len(overdue)

    @pytest.mark.parametrize(("moment", "overdue_a"), [(BEFORE, 0), (AFTER, 1)])
    def test_the_per_township_overdue_count(
        self, client, monkeypatch, due, county_staff, moment, overdue_a
    ):
        freeze(monkeypatch, moment)
        client.force_login(county_staff)
        response = client.get(reverse("scoring:rectification_list", args=["zhenggai"]))
        overdue = {
            row["assessment__unit__township__name"]: row["overdue"]
            for row in response.context["per_township"]
        }
        assert overdue == {"城关镇": overdue_a, "东庄镇": 1}

    @pytest.mark.parametrize(("moment", "marked"), [(BEFORE, False), (AFTER, True)])
    def test_the_marking_on_the_detail_page(
        self, client, monkeypatch, due, township_official, moment, marked
    ):
        freeze(monkeypatch, moment)
        client.force_login(township_official)
        response = client.get(reverse("scoring:rectification_detail", args=[due["on_d"].pk]))
        assert bool(response.context["item"].overdue) is marked

    @pytest.mark.parametrize(("moment", "count"), [(BEFORE, 1), (AFTER, 2)])
    def test_the_dashboard_count(self, client, monkeypatch, due, county_staff, moment, count):
        freeze(monkeypatch, moment)
        client.force_login(county_staff)
        response = client.get(reverse("scoring:dashboard", args=["zhenggai"]))
        assert response.context["overdue"] == count


class TestLedger:
    def url(self) -> str:
        return reverse("scoring:rectification_list", args=["zhenggai"])

    @pytest.fixture
    def ledger(self, built, q3, unit_a, unit_b, township_a):
        south = factories.UnitFactory(township=township_a, name="南街村")
        q2 = scenarios.period_build(built, "2026Q2")
        return {
            "a_open": item_for(built, q3, unit_a, "1.1"),
            "a_open2": item_for(built, q3, south, "1.1"),
            "a_reported": item_for(built, q3, unit_a, "1.2", REPORTED),
            "a_closed": item_for(built, q3, unit_a, "2.1", CLOSED),
            "b_verified": item_for(built, q3, unit_b, "1.1", VERIFIED),
            "b_open_q2": item_for(built, q2, unit_b, "1.2"),
        }

    def shown(self, response, ledger) -> set[str]:
        names = {v.pk: k for k, v in ledger.items()}
        return {names[i.pk] for i in response.context["page"]}

    def test_counts_per_township(self, client, ledger, county_staff):
        client.force_login(county_staff)
        rows = client.get(self.url()).context["per_township"]
        got = {
            r["assessment__unit__township__name"]: (
                r["open"],
                r["reported"],
                r["verified"],
                r["closed"],
            )
            for r in rows
        }
        assert got == {"城关镇": (2, 1, 0, 1), "东庄镇": (1, 0, 1, 0)}
        assert [r["assessment__unit__township__name"] for r in rows] == ["城关镇", "东庄镇"]

    def test_a_township_sees_only_its_own(self, client, ledger, township_official):
        client.force_login(township_official)
        response = client.get(self.url(), {"status": "all"})
        assert [
            r["assessment__unit__township__name"] for r in response.context["per_township"]
        ] == ["城关镇"]
        assert self.shown(response, ledger) == {"a_open", "a_open2", "a_reported", "a_closed"}

    @pytest.mark.parametrize(
        ("params", "shown"),
        [
            ({}, {"a_open", "a_open2", "a_reported", "b_verified", "b_open_q2"}),
            (
                {"status": "all"},
                {"a_open", "a_open2", "a_reported", "a_closed", "b_verified", "b_open_q2"},
            ),
            ({"status": "closed"}, {"a_closed"}),
            ({"status": "open"}, {"a_open", "a_open2", "b_open_q2"}),
            ({"township": "410527101000"}, {"b_verified", "b_open_q2"}),
            ({"period": "2026Q2"}, {"b_open_q2"}),
        ],
    )
    def test_filters(self, client, ledger, county_staff, params, shown):
        client.force_login(county_staff)
        assert self.shown(client.get(self.url(), params), ledger) == shown

    def test_another_countys_campaign_is_404(self, client, county_staff):
        other = factories.CountyFactory(code="410526000000", name="滑县")
        scenarios.campaign_build(region=other, slug="huaxian", specs=SPECS)
        client.force_login(county_staff)
        assert (
            client.get(reverse("scoring:rectification_list", args=["huaxian"])).status_code == 404
        )

    @pytest.mark.parametrize("per_township", [1, 15])
    def test_it_costs_the_same_queries_for_few_and_many(
        self,
        client,
        django_assert_num_queries,
        built,
        q3,
        township_a,
        township_b,
        county_staff,
        per_township,
    ):
        for township in (township_a, township_b):
            for i, unit in enumerate(scenarios.many_units(township, per_township)):
                item_for(built, q3, unit, "1.1", deadline=dt.date(2026, 1, 1))
                item_for(built, q3, unit, "2.1", (OPEN, REPORTED, VERIFIED, CLOSED)[i % 4])
        client.force_login(county_staff)
        # session, user, scope region, campaign, count, items, per township, townships, periods
        with django_assert_num_queries(9):
            response = client.get(self.url(), {"status": "all"})
        assert len(response.context["page"]) == 4 * per_township


class TestNotice:
    def url(self, assessment) -> str:
        return reverse("scoring:rectification_notice", args=[assessment.pk])

    @pytest.fixture
    def notice_items(self, built, q3, unit_a):
        return {
            "open": item_for(built, q3, unit_a, "1.1", lost_note="三会一课记录不全"),
            "reported": item_for(built, q3, unit_a, "1.2", REPORTED, lost_note="党员积分未公示"),
            "closed": item_for(built, q3, unit_a, "2.1", CLOSED, lost_note="产业项目未落地"),
        }

    @pytest.mark.parametrize("role", ["county_staff", "township_official", "village_secretary"])
    def test_it_lists_the_items_not_closed(self, client, notice_items, users, role):
        client.force_login(users[role])
        response = client.get(self.url(notice_items["open"].assessment))
        assert response.status_code == 200
        assert [i.pk for i in response.context["items"]] == [
            notice_items["open"].pk,
            notice_items["reported"].pk,
        ]
        content = response.content.decode()
        assert "三会一课记录不全" in content
        assert "党员积分未公示" in content
        assert "产业项目未落地" not in content
        assert "东街村" in content
        assert "李主任" in content
        assert "2026-12-31" in content

    def test_all_closed_says_so(self, client, built, q3, unit_a, county_staff):
        item = item_for(built, q3, unit_a, "1.1", CLOSED)
        client.force_login(county_staff)
        response = client.get(self.url(item.assessment))
        assert list(response.context["items"]) == []
        assert msg("No open items.") in response.content.decode()

    def test_a_stranger_gets_404(self, client, notice_items, stranger):
        client.force_login(stranger)
        assert client.get(self.url(notice_items["open"].assessment)).status_code == 404

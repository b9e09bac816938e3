"""htmx through django-htmx: pages that answer a fragment to htmx and a whole page otherwise say
so with `Vary: HX-Request`, and an htmx request whose session has expired is sent to the login
page with HX-Redirect (htmx would otherwise follow a 302 and swap the login form into the row).
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import pytest
from django.urls import reverse
from django.utils.cache import has_vary_header

from scoring.models import ExportJob, ExportKind, JobStatus, ReportRun

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def login_url(next_path: str | None = None) -> str:
    """The login page as Django's login_required names it (slashes kept in `next`)."""
    return "/accounts/login/" + (f"?next={quote(next_path, safe='/')}" if next_path else "")


@pytest.fixture
def polled(catalogue, county_staff) -> dict[str, tuple[str, str]]:
    """The pages that poll themselves: name → (URL, id of the fragment's root element)."""
    run = ReportRun.objects.create(
        campaign=catalogue.campaign,
        month=dt.date(2026, 10, 1),
        status=JobStatus.QUEUED,
        requested_by=county_staff,
    )
    job = ExportJob.objects.create(
        kind=ExportKind.SCORES,
        campaign=catalogue.campaign,
        status=JobStatus.RUNNING,
        progress=40,
        requested_by=county_staff,
    )
    return {
        "report_detail": (reverse("scoring:report_detail", args=[run.pk]), "report-status"),
        "export_detail": (reverse("scoring:export_detail", args=[job.pk]), "export-status"),
    }


class TestVary:
    @pytest.mark.parametrize("name", ["report_detail", "export_detail"])
    def test_a_page_and_its_fragment_both_vary_on_hx_request(
        self, client, county_staff, polled, name
    ):
        url, root = polled[name]
        client.force_login(county_staff)
        page = client.get(url)
        fragment = client.get(url, headers=HTMX)
        assert page.status_code == fragment.status_code == 200
        assert "<html" in page.content.decode()
        assert fragment.content.decode().lstrip().startswith(f'<div id="{root}"')
        for response in (page, fragment):
            assert has_vary_header(response, "HX-Request")

    @pytest.mark.parametrize("name", ["report_detail", "export_detail"])
    def test_the_logged_out_answers_vary_too(self, client, polled, name):
        url, _root = polled[name]
        for response in (client.get(url), client.get(url, headers=HTMX)):
            assert has_vary_header(response, "HX-Request")

    def test_a_header_other_than_true_is_not_htmx(self, client, county_staff, polled):
        url, _root = polled["report_detail"]
        client.force_login(county_staff)
        assert "<html" in client.get(url, headers={"HX-Request": "false"}).content.decode()


class TestExpiredSession:
    def row(self, assessment_a, catalogue) -> str:
        indicator = catalogue.shared_points[0]
        return reverse("scoring:score_row", args=[assessment_a.pk, indicator.pk]) + "?stage=self"

    def test_an_htmx_row_save_goes_to_login_and_back_to_the_entry_page(
        self, client, village_secretary, catalogue, assessment_a
    ):
        entry = reverse("scoring:entry", args=[assessment_a.pk]) + "?stage=self"
        client.force_login(village_secretary)
        client.logout()  # the session expired while the sheet was open
        response = client.post(
            self.row(assessment_a, catalogue),
            {},
            headers={**HTMX, "HX-Current-URL": f"http://testserver{entry}"},
        )
        assert response.status_code == 200
        assert response["HX-Redirect"] == login_url(entry)
        assert response.content == b""
        assert has_vary_header(response, "HX-Request")

    def test_the_page_shown_on_another_site_is_not_a_next(self, client, catalogue, assessment_a):
        response = client.post(
            self.row(assessment_a, catalogue),
            {},
            headers={**HTMX, "HX-Current-URL": "https://evil.example/scoring/"},
        )
        assert response.status_code == 200
        assert response["HX-Redirect"] == login_url()

    def test_a_poll_goes_to_login_and_back_to_the_page_it_polls(self, client, polled):
        url, _root = polled["export_detail"]
        response = client.get(url, headers={**HTMX, "HX-Current-URL": f"http://testserver{url}"})
        assert response.status_code == 200
        assert response["HX-Redirect"] == login_url(url)

    def test_a_poll_without_current_url_comes_back_to_itself(self, client, polled):
        url, _root = polled["report_detail"]
        response = client.get(url, headers=HTMX)
        assert response["HX-Redirect"] == login_url(url)

    def test_without_htmx_it_is_still_a_302_to_login(self, client, catalogue, assessment_a):
        row = self.row(assessment_a, catalogue)
        response = client.post(row, {})
        assert response.status_code == 302
        assert response.url == login_url(row)
        assert "HX-Redirect" not in response
        page = reverse("scoring:entry", args=[assessment_a.pk])
        response = client.get(page)
        assert (response.status_code, response.url) == (302, login_url(page))

    def test_a_logged_in_htmx_save_still_answers_the_row(
        self, client, village_secretary, catalogue, assessment_a
    ):
        indicator = catalogue.shared_points[0]
        client.force_login(village_secretary)
        prefix = f"i{indicator.id}"
        response = client.post(
            self.row(assessment_a, catalogue),
            {f"{prefix}-value": "30", f"{prefix}-note": "扣分", f"{prefix}-version": 0},
            headers=HTMX,
        )
        assert response.status_code == 200
        assert "HX-Redirect" not in response
        assert f'id="row-{indicator.id}"' in response.content.decode()

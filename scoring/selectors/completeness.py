"""How complete each period of a campaign is (N / M 已定评), and which period a results page
shows by default: the latest one whose assessments are all final, not the latest one opened.

Two queries whatever the number of periods or units: the periods, and their assessments
counted by period and stage in SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q

from campaigns.models import Campaign
from scoring.models import Assessment, Period, Stage
from villages.models import User


@dataclass(frozen=True)
class Completion:
    """One period with its final and total assessments in the reader's scope."""

    period: Period
    final: int
    total: int

    @property
    def complete(self) -> bool:
        """Every assessment of the period is final (and there is at least one)."""
        return self.total > 0 and self.final == self.total

    @property
    def partial(self) -> bool:
        return not self.complete

    @property
    def label(self) -> str:
        return self.period.label


def period_completions(campaign: Campaign, user: User | None) -> list[Completion]:
    """Every period of `campaign`, latest first, with its final / total assessments inside
    `user`'s scope (None: the whole campaign). Two queries."""
    periods = list(campaign.periods.order_by("-starts_on", "-label"))
    assessments = Assessment.objects.filter(period__campaign=campaign)
    if user is not None:
        assessments = assessments.visible_to(user)
    counts = {
        row["period_id"]: (row["final"], row["total"])
        for row in assessments.values("period_id")
        .annotate(total=Count("id"), final=Count("id", filter=Q(stage=Stage.FINAL)))
        .order_by()
    }
    return [Completion(p, *counts.get(p.id, (0, 0))) for p in periods]


def completion_default(completions: list[Completion]) -> Completion | None:
    """The period a results page opens on: the latest complete one; failing that the latest
    with any final assessment; failing that the latest period (`completions` latest first)."""
    for test in (lambda c: c.complete, lambda c: c.final > 0, lambda c: True):
        found = next((c for c in completions if test(c)), None)
        if found is not None:
            return found
    return None


def completion_pick(completions: list[Completion], label: str | None) -> Completion | None:
    """The period named by `label` (?period=2026Q3) if the campaign has it, else the default."""
    if label:
        found = next((c for c in completions if c.label == label), None)
        if found is not None:
            return found
    return completion_default(completions)

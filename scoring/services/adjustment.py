"""Adjustment runs (调旗): propose, override with a reason, confirm into the holdings."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.bands import parse_bands
from campaigns.models import RuleMode
from scoring import rules
from scoring.errors import ScoringError
from scoring.models import (
    AdjustmentProposal,
    AdjustmentRun,
    AdjustmentStatus,
    Assessment,
    Holding,
    HoldingChange,
    HoldingChangeKind,
    Period,
    ProposalAction,
    Stage,
)
from scoring.selectors.results import final_results
from villages.errors import ErrorCode
from villages.models import Region, RegionLevel, User
from villages.policy import Action, may

# --- adjustment (调旗) ----------------------------------------------------------------------


@dataclass
class AdjustmentSummary:
    units: int = 0
    award: int = 0
    withdraw: int = 0
    keep: int = 0

    def add(self, action: str) -> None:
        setattr(self, action, getattr(self, action) + 1)


def adjustment_propose(
    *, user: User | None, period: Period, township_codes: Sequence[str] = (), save: bool = True
) -> tuple[AdjustmentRun | None, list[AdjustmentProposal], AdjustmentSummary]:
    """Propose award / keep / withdraw for every unit × dimension of the chosen townships.

    Needs county review final for every unit chosen. Rules come from the campaign: per-dimension
    threshold (a veto fails the dimension) or total-score bands. With save=False nothing is
    written (command-line dry run). Fixed number of queries whatever the number of units.
    """
    if not (user is None or may(user, Action.ADJUST)):
        raise ScoringError(_("Only county staff may run an adjustment."), code=ErrorCode.FORBIDDEN)
    campaign = period.campaign
    assessments = Assessment.objects.filter(period=period).select_related("unit")
    if user is not None:
        assessments = assessments.visible_to(user)
    townships = []
    if township_codes:
        townships = list(Region.objects.filter(code__in=township_codes, level=RegionLevel.TOWNSHIP))
        if len(townships) != len(set(township_codes)):
            raise ScoringError(_("Unknown township code."), code=ErrorCode.NOT_FOUND)
        assessments = assessments.filter(unit__township__in=townships)
    assessments = list(assessments)
    if not assessments:
        raise ScoringError(_("There are no assessments to adjust."), code=ErrorCode.CONFLICT)
    pending = [a for a in assessments if a.stage != Stage.FINAL]
    if pending:
        raise ScoringError(
            _("%(n)d units are not final yet (e.g. %(unit)s); finish county review first.")
            % {"n": len(pending), "unit": pending[0].unit.name},
            code=ErrorCode.CONFLICT,
        )
    results = final_results(period, assessments)
    held = set(
        Holding.objects.filter(
            dimension__campaign=campaign, unit__in=[a.unit_id for a in assessments]
        ).values_list("unit_id", "dimension_id")
    )
    bands = parse_bands(campaign.bands) if campaign.rule_mode == RuleMode.BANDS else None
    by_unit: dict[int, dict[int, tuple]] = defaultdict(dict)
    for (unit_id, dim_id), value in results.items():
        by_unit[unit_id][dim_id] = value
    run = None
    if save:
        run = AdjustmentRun.objects.create(campaign=campaign, period=period, created_by=user)
        if townships:
            run.townships.set(townships)
    proposals, summary = [], AdjustmentSummary()
    for unit_id, dims in by_unit.items():
        summary.units += 1
        chosen = None
        if bands is not None:
            level = rules.band_level(
                rules.total_score(r for r, _lost in dims.values()), bands, campaign.level_cap
            )
            chosen = rules.band_dimensions({d: r for d, (r, _l) in dims.items()}, level)
        for dim_id, (result, lost) in sorted(dims.items()):
            is_held = (unit_id, dim_id) in held
            reaches = result.reaches if chosen is None else dim_id in chosen
            action = rules.dimension_action(held=is_held, reaches=reaches)
            summary.add(action)
            proposals.append(
                AdjustmentProposal(
                    run=run,
                    unit_id=unit_id,
                    dimension_id=dim_id,
                    held=is_held,
                    score=result.score,
                    vetoed=result.vetoed,
                    action=action,
                    lost=[[code, str(points)] for code, points in lost[:10]],
                )
            )
    if save:
        AdjustmentProposal.objects.bulk_create(proposals, batch_size=2000)
    return run, proposals, summary


def adjustment_override(
    *, user: User, proposal: AdjustmentProposal, action: str, reason: str
) -> None:
    """Decide differently from the rules for one proposal; a reason is required."""
    reason = (reason or "").strip()
    if not may(user, Action.ADJUST):
        raise ScoringError(
            _("Only county staff may override a proposal."), code=ErrorCode.FORBIDDEN
        )
    if proposal.confirmed:
        raise ScoringError(_("This proposal is already confirmed."), code=ErrorCode.CONFLICT)
    if action not in ProposalAction.values:
        raise ScoringError(_("Unknown decision."), field="action")
    if action == ProposalAction.AWARD and proposal.held:
        raise ScoringError(
            _("The unit already holds it; choose keep."), field="action", code=ErrorCode.CONFLICT
        )
    if action == ProposalAction.WITHDRAW and not proposal.held:
        raise ScoringError(
            _("The unit does not hold it; nothing to withdraw."),
            field="action",
            code=ErrorCode.CONFLICT,
        )
    if action == proposal.action:
        proposal.override, proposal.override_reason = "", ""
    else:
        if not reason:
            raise ScoringError(
                _("Give a reason for overriding the proposal."),
                field="reason",
                code=ErrorCode.REQUIRED,
            )
        proposal.override, proposal.override_reason = action, reason
    proposal.overridden_by, proposal.overridden_at = user, timezone.now()
    proposal.save(update_fields=["override", "override_reason", "overridden_by", "overridden_at"])


def adjustment_confirm(
    *, user: User, run: AdjustmentRun, proposal_ids: Iterable[int] | None = None
) -> AdjustmentSummary:
    """Write holdings and their history for the run's proposals (all, or the ids given).

    One transaction, a fixed number of queries. Idempotent: a proposal already confirmed, or a
    change already recorded for the unit, dimension and period, is not written again; an award
    of something held meanwhile or a withdrawal of something no longer held is skipped.
    """
    if not may(user, Action.ADJUST):
        raise ScoringError(
            _("Only county staff may confirm an adjustment."), code=ErrorCode.FORBIDDEN
        )
    summary = AdjustmentSummary()
    now = timezone.now()
    with transaction.atomic():
        run = (
            AdjustmentRun.objects.select_for_update(of=("self",))
            .select_related("campaign", "period")
            .get(pk=run.pk)
        )
        proposals = run.proposals.filter(confirmed=False).select_related("run")
        if proposal_ids is not None:
            proposals = proposals.filter(id__in=list(proposal_ids))
        proposals = list(proposals)
        if not proposals:
            return summary
        units = {p.unit_id for p in proposals}
        held = {
            (h.unit_id, h.dimension_id): h
            for h in Holding.objects.select_for_update().filter(
                unit_id__in=units, dimension__campaign=run.campaign
            )
        }
        recorded = set(
            HoldingChange.objects.filter(period=run.period, unit_id__in=units).values_list(
                "unit_id", "dimension_id"
            )
        )
        new_holdings, gone, changes = [], [], []
        for p in proposals:
            key = (p.unit_id, p.dimension_id)
            decision = p.decision
            p.confirmed = True
            if decision == ProposalAction.KEEP or key in recorded:
                summary.add(ProposalAction.KEEP)
                continue
            if decision == ProposalAction.AWARD and key not in held:
                new_holdings.append(
                    Holding(
                        unit_id=p.unit_id,
                        dimension_id=p.dimension_id,
                        since_period=run.period,
                        since=now,
                    )
                )
                kind = HoldingChangeKind.AWARD
            elif decision == ProposalAction.WITHDRAW and key in held:
                gone.append(held[key].id)
                kind = HoldingChangeKind.WITHDRAW
            else:
                summary.add(ProposalAction.KEEP)
                continue
            summary.add(decision)
            recorded.add(key)
            changes.append(
                HoldingChange(
                    unit_id=p.unit_id,
                    dimension_id=p.dimension_id,
                    period=run.period,
                    kind=kind,
                    score=p.score,
                    reason=p.override_reason or _default_reason(p, run.campaign.rule_mode),
                    decided_by=user,
                    decided_at=now,
                )
            )
        summary.units = len(units)
        Holding.objects.filter(id__in=gone).delete()
        Holding.objects.bulk_create(new_holdings)
        HoldingChange.objects.bulk_create(changes)
        AdjustmentProposal.objects.bulk_update(proposals, ["confirmed"], batch_size=2000)
        if not run.proposals.filter(confirmed=False).exists():
            run.status = AdjustmentStatus.CONFIRMED
            run.confirmed_by, run.confirmed_at = user, now
            run.save(update_fields=["status", "confirmed_by", "confirmed_at"])
    return summary


def _default_reason(p: AdjustmentProposal, mode: str) -> str:
    """The reason recorded in the history for a decision that followed the rules."""
    if p.vetoed and p.decision == ProposalAction.WITHDRAW:
        return _("A veto item was triggered.")
    if mode == RuleMode.BANDS:
        return _("Set by the total-score band.")
    if p.decision == ProposalAction.AWARD:
        return _("The dimension reached the threshold.")
    return _("The dimension fell below the threshold.")

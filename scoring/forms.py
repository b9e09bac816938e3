"""Forms for score entry, transitions and periods. Errors are shown next to the field."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from campaigns.models import Indicator, IndicatorKind
from scoring.inputs import ScoreInput, parse_points, validate_input
from scoring.models import Period, Score, period_label_validator

VETO_CHOICES = [("", "—"), ("no", _("No")), ("yes", _("Yes"))]


class ScoreRowForm(forms.Form):
    """One indicator's score at one stage, as typed. Prefix: `i<indicator id>`."""

    value = forms.CharField(label=_("points"), required=False, max_length=12)
    vetoed = forms.ChoiceField(label=_("veto triggered"), choices=VETO_CHOICES, required=False)
    note = forms.CharField(label=_("note"), required=False, max_length=1000)
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0, required=False)

    def __init__(self, *args: Any, indicator: Indicator, assessment_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.indicator = indicator
        self.assessment_id = assessment_id

    @classmethod
    def initial_for(cls, score: Score | None) -> dict:
        if score is None:
            return {"value": "", "vetoed": "", "note": "", "version": 0}
        vetoed = "" if score.vetoed is None else ("yes" if score.vetoed else "no")
        value = "" if score.value is None else f"{score.value.normalize():f}"
        return {"value": value, "vetoed": vetoed, "note": score.note, "version": score.version}

    def clean_value(self) -> Decimal | None:
        raw = self.cleaned_data.get("value", "")
        try:
            return parse_points(raw)
        except ValueError:
            raise forms.ValidationError(_("Enter a number, e.g. 7 or 6.5.")) from None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        for field, message in validate_input(self.to_input(), self.indicator):
            self.add_error(field, message)
        return cleaned

    def to_input(self) -> ScoreInput:
        data = self.cleaned_data
        vetoed = {"yes": True, "no": False}.get(data.get("vetoed") or "")
        is_veto = self.indicator.kind == IndicatorKind.VETO
        return ScoreInput(
            assessment_id=self.assessment_id,
            indicator_id=self.indicator.id,
            value=None if is_veto else data.get("value"),
            vetoed=vetoed if is_veto else None,
            note=data.get("note") or "",
            expected_version=data.get("version"),
        )


class ReturnForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for returning"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Give a reason for returning it.")},
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class PeriodOpenForm(forms.ModelForm):
    label = forms.CharField(
        label=_("label"),
        max_length=8,
        validators=[period_label_validator],
        help_text=_("For example 2027Q1."),
    )

    class Meta:
        model = Period
        fields = ["label", "starts_on", "ends_on", "self_due", "township_due", "county_due"]
        widgets = {
            name: forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
            for name in ["starts_on", "ends_on", "self_due", "township_due", "county_due"]
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        starts, ends = cleaned.get("starts_on"), cleaned.get("ends_on")
        if starts and ends and ends < starts:
            self.add_error("ends_on", _("The period ends before it starts."))
        return cleaned


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("Filled-in score sheet (.xlsx)"),
        error_messages={"required": _("Choose the .xlsx file to upload.")},
    )

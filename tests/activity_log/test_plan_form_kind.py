"""The plan form chooses a kind as the visit form does (issue 19): "Add to the plan" works at first try."""

import pytest

from activity_log.forms import ActivityForm, PlanItemForm
from activity_log.models import ActivityKind

pytestmark = pytest.mark.django_db


def test_the_plan_form_starts_on_the_first_active_kind_like_the_visit_form(rep):
    first = ActivityKind.objects.filter(is_active=True).first()
    plan = PlanItemForm(user=rep)
    assert plan.initial["kind"] == first.pk == ActivityForm(user=rep).initial["kind"]
    assert f'<option value="{first.pk}" selected>' in str(plan["kind"])


def test_a_posted_plan_form_keeps_what_was_chosen(rep):
    second = ActivityKind.objects.filter(is_active=True)[1]
    form = PlanItemForm({"kind": second.pk}, user=rep)
    assert "kind" not in form.initial
    assert str(form["kind"].value()) == str(second.pk)

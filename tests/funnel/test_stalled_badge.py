"""The "Stalled" badge on the list, the board and the deal's page follows the stalled alerts' rule
(funnel.models.opportunities.stalled_condition), so a badge and an alert never disagree."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from funnel.models import Stage
from tests.factories import OpportunityFactory

pytestmark = pytest.mark.django_db

BADGE = b'class="badge text-bg-warning">Stalled<'


@pytest.fixture
def deals(rep, pipeline):
    now, proposal = timezone.now(), Stage.objects.get(name="Proposal")
    fresh = {"stage": proposal, "stage_entered_at": now, "last_activity_at": now, "next_step_date": now.date()}
    return {
        # Moving and planned: no badge.
        "moving": OpportunityFactory(owner=rep, name="Moving deal", **fresh),
        # In its stage a day, active today, but its next step was due three days ago: stalled by the alert rule
        # (the old badge only looked at days in stage and idle days, and missed it).
        "overdue": OpportunityFactory(
            owner=rep, name="Overdue deal", **{**fresh, "next_step_date": (now - timedelta(days=3)).date()}
        ),
    }


def test_the_list_flags_exactly_the_deals_the_scan_calls_stalled(client_for, rep, deals):
    content = client_for(rep).get(reverse("opportunities:list")).content.decode()
    overdue_row = content[content.index("Overdue deal") :].split("</tr>")[0]
    moving_row = content[content.index("Moving deal") :].split("</tr>")[0]
    assert BADGE.decode() in overdue_row
    assert BADGE.decode() not in moving_row


def test_the_board_and_the_deals_page_flag_it_too(client_for, rep, deals):
    client = client_for(rep)
    board = client.get(reverse("opportunities:board")).content.decode()
    card = board[board.index("Overdue deal") - 600 : board.index("Overdue deal")]
    assert "border-warning" in card
    assert BADGE in client.get(reverse("opportunities:detail", args=[deals["overdue"].pk])).content
    assert BADGE not in client.get(reverse("opportunities:detail", args=[deals["moving"].pk])).content


def test_the_home_pages_latest_deals_flag_it_too(client_for, rep, deals):
    content = client_for(rep).get(reverse("funnel:home")).content.decode()
    recent = content[content.index("Recently updated") :]
    overdue_row = recent[recent.index("Overdue deal") :].split("</tr>")[0]
    moving_row = recent[recent.index("Moving deal") :].split("</tr>")[0]
    assert BADGE.decode() in overdue_row
    assert BADGE.decode() not in moving_row

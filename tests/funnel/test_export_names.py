"""CSV export as the list page reads (issue 19): people's names, not their logins, and times in the
reader's own zone, named in the header."""

from datetime import UTC, datetime

import pytest

from funnel.models import Opportunity
from tests.factories import OpportunityFactory

from .test_export import export

pytestmark = pytest.mark.django_db


def test_the_export_names_owners_as_the_pages_do_and_gives_local_times(client_for, rep, pipeline):
    rep.first_name, rep.last_name, rep.time_zone = "伟", "张", "Asia/Shanghai"
    rep.save()
    deal = OpportunityFactory(owner=rep, name="西湖仓库货架")
    Opportunity.objects.filter(pk=deal.pk).update(created_at=datetime(2026, 3, 1, 23, 30, tzinfo=UTC))

    header, row = export(client_for(rep))

    assert header[3] == "Owner" and row[3] == "张伟" == str(rep)  # not the login, r1
    created = header.index("Created (Asia/Shanghai)")  # by name: columns are added as the export grows
    assert row[created] == "2026-03-02 07:30"  # 23:30 UTC is 07:30 the next morning in Shanghai


def test_a_reader_elsewhere_gets_their_own_time(client_for, rep, pipeline):
    rep.time_zone = "Europe/Berlin"
    rep.save()
    deal = OpportunityFactory(owner=rep)
    Opportunity.objects.filter(pk=deal.pk).update(created_at=datetime(2026, 7, 1, 12, 0, tzinfo=UTC))
    header, row = export(client_for(rep))
    assert row[header.index("Created (Europe/Berlin)")] == "2026-07-01 14:00"
    assert row[3] == str(rep)

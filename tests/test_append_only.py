"""Audit rows and stage history cannot be rewritten by the application (QUALITY S31)."""

import pytest
from django.db import DatabaseError, connection, transaction

from funnel.models import StageChange
from reps.models import AuditEvent
from reps.services import audit_record
from tests.factories import StageChangeFactory

pytestmark = pytest.mark.django_db


def test_audit_row_cannot_be_updated(rep):
    event = audit_record(action="login", actor=rep)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="logout")
    event.refresh_from_db()
    assert event.action == "login"


def test_stage_change_cannot_be_updated(rep, pipeline):
    change = StageChangeFactory(opportunity__owner=rep)
    with pytest.raises(DatabaseError), transaction.atomic():
        StageChange.objects.filter(pk=change.pk).update(by=rep)
    change.refresh_from_db()
    assert change.by is None


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite guards updates only (tests flush with DELETE)")
def test_audit_row_cannot_be_deleted_on_postgresql(rep):
    event = audit_record(action="login", actor=rep)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()

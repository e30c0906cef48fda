"""Deal writes under real concurrency (PostgreSQL, one connection per thread): a lost race is a 409 with
the current state, never a 500; unrelated deals do not queue behind each other; an archive racing moves
never leaves a deal in an archived stage (QUALITY R10–R12, issue 10 item 9)."""

import threading
import time
from collections import Counter

import pytest
from django.db import OperationalError, connection, transaction
from django.test import Client
from django.urls import reverse

from funnel.configuration import services as config_services
from funnel.models import Opportunity, Stage
from funnel.opportunities import services
from tests.factories import OpportunityFactory

RACES = 50


@pytest.fixture
def _postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time")


def run_together(*jobs) -> list:
    """Runs each job on its own thread (so its own connection) from one barrier; returns their results."""
    start, results, errors = threading.Barrier(len(jobs)), [None] * len(jobs), []

    def run(index, job):
        try:
            start.wait()
            results[index] = job()
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    return results


def signed_in(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def move_by(client: Client, opportunity: Opportunity, stage: Stage, version: int):
    url = reverse("opportunities:move", args=[opportunity.pk])
    return lambda: client.post(url, {"stage": stage.pk, "version": version}).status_code


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_postgresql")
def test_two_people_moving_one_deal_the_loser_gets_409_never_500(rep, manager, stages):
    first, second = signed_in(rep), signed_in(manager)
    outcomes = Counter()
    for _ in range(RACES):
        deal = OpportunityFactory(owner=rep, stage=stages["Qualified"])
        codes = run_together(
            move_by(first, deal, stages["Proposal"], deal.version),
            move_by(second, deal, stages["Negotiation"], deal.version),
        )
        outcomes.update(codes)
        deal.refresh_from_db()
        assert deal.stage_changes.count() == 1  # exactly one accepted move
    print(f"\n{RACES} races of two moves of one deal: {dict(sorted(outcomes.items()))}")
    assert outcomes == {302: RACES, 409: RACES}


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_postgresql")
def test_an_unrelated_deal_moves_while_another_deal_in_its_stage_is_locked(rep, teammate, stages):
    locked_deal = OpportunityFactory(owner=rep, stage=stages["Qualified"])
    other_deal = OpportunityFactory(owner=teammate, stage=stages["Qualified"])
    holding, release = threading.Event(), threading.Event()

    def hold_a_move_open():
        with transaction.atomic():
            services.opportunity_move(
                opportunity=locked_deal, stage=stages["Proposal"], by=rep, version=locked_deal.version
            )
            holding.set()
            release.wait(10)

    def move_the_other_deal():
        holding.wait(10)
        started = time.monotonic()
        status = move_by(signed_in(teammate), other_deal, stages["Proposal"], other_deal.version)()
        waited = time.monotonic() - started
        release.set()
        return status, waited

    _held, (status, waited) = run_together(hold_a_move_open, move_the_other_deal)
    print(f"\nan unrelated deal's move, while another deal's move held its locks: {status} after {waited:.2f} s")
    assert status == 302
    assert waited < 1.0


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_postgresql")
def test_an_archive_racing_moves_never_leaves_a_deal_in_the_archived_stage(rep, admin_user, pipeline, stages):
    for round_ in range(10):
        doomed = Stage.objects.create(pipeline=pipeline, name=f"Doomed {round_}", order=9, probability=50)
        deals = [OpportunityFactory(owner=rep, stage=stages["Qualified"]) for _ in range(4)]
        moves = [move_by(signed_in(rep), deal, doomed, deal.version) for deal in deals]
        codes = run_together(
            *moves,
            lambda stage=doomed: config_services.stage_archive(stage=stage, target=stages["Proposal"], by=admin_user),
        )
        assert 500 not in codes[:-1]
        assert not Opportunity.objects.filter(stage=doomed).exists()
        assert Stage.objects.get(pk=doomed.pk).is_archived


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_postgresql")
def test_a_move_that_waits_past_the_lock_timeout_answers_409_with_the_deal_as_it_is(rep, stages, monkeypatch):
    deal = OpportunityFactory(owner=rep, stage=stages["Qualified"])
    options = {**connection.settings_dict["OPTIONS"], "options": "-c lock_timeout=200"}
    monkeypatch.setitem(connection.settings_dict, "OPTIONS", options)  # the threads' new connections
    holding, release = threading.Event(), threading.Event()

    def hold_the_deal():
        with transaction.atomic():
            Opportunity.objects.select_for_update().get(pk=deal.pk)
            holding.set()
            release.wait(10)

    def move_it():
        holding.wait(10)
        response = signed_in(rep).post(
            reverse("opportunities:move", args=[deal.pk]), {"stage": stages["Proposal"].pk, "version": 1}
        )
        release.set()
        return response

    _held, response = run_together(hold_the_deal, move_it)
    assert response.status_code == 409
    assert "Someone else is changing this deal right now" in response.content.decode()
    assert Opportunity.objects.get(pk=deal.pk).stage == stages["Qualified"]


# --- the retry itself (any database) ----------------------------------------------------------------------


def flaky(failures: list[Exception]):
    calls = []

    @services.retry_on_lock_conflict
    def write():
        calls.append(1)
        if failures:
            raise failures.pop(0)
        return "written"

    return write, calls


def locked() -> OperationalError:
    return OperationalError("database is locked")


def test_a_lock_conflict_is_retried_once():
    write, calls = flaky([locked()])
    assert (write(), len(calls)) == ("written", 2)


def test_a_second_lock_conflict_is_busy_not_an_error_page():
    write, calls = flaky([locked(), locked()])
    with pytest.raises(services.Busy, match="Someone else is changing"):
        write()
    assert len(calls) == 2


def test_other_database_errors_are_not_retried():
    write, calls = flaky([OperationalError("no such table: funnel_stage")])
    with pytest.raises(OperationalError):
        write()
    assert len(calls) == 1


def test_inside_a_callers_transaction_a_lock_conflict_is_busy_at_once(db):
    write, calls = flaky([locked()])
    with pytest.raises(services.Busy), transaction.atomic():
        write()
    assert len(calls) == 1  # the outermost writer retries its whole transaction


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("_postgresql")
def test_a_visit_that_moves_a_deal_someone_holds_answers_409_and_records_nothing(rep, stages, monkeypatch):
    from activity_log.models import Activity, ActivityKind

    deal = OpportunityFactory(owner=rep, stage=stages["Qualified"])
    options = {**connection.settings_dict["OPTIONS"], "options": "-c lock_timeout=200"}
    monkeypatch.setitem(connection.settings_dict, "OPTIONS", options)
    holding, release = threading.Event(), threading.Event()
    kind, _created = ActivityKind.objects.get_or_create(name="Visit")  # a flushed database has no default kinds
    visit = {"kind": kind.pk, "account": deal.account_id, "opportunity": deal.pk,
             "when": "2026-03-04T09:00", "outcome": "Agreed the proposal", "idempotency_key": "held-deal",
             "move_to": stages["Proposal"].pk, "move_version": deal.version}  # fmt: skip

    def hold_the_deal():
        with transaction.atomic():
            Opportunity.objects.select_for_update().get(pk=deal.pk)
            holding.set()
            release.wait(10)

    def record_the_visit():
        holding.wait(10)
        response = signed_in(rep).post(reverse("log:activity_new"), visit)
        release.set()
        return response

    _held, response = run_together(hold_the_deal, record_the_visit)
    assert response.status_code == 409
    assert "Someone else is changing this deal right now" in response.content.decode()
    assert not Activity.objects.exists()
    assert Opportunity.objects.get(pk=deal.pk).stage == stages["Qualified"]

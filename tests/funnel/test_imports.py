"""CSV import services: preview writes nothing, confirm once, the job (chunks, reruns, all or nothing,
migration by an admin), no lock held while a file is read, and racing imports on PostgreSQL."""

import threading
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection, connections

from funnel.models import Account, ImportBatch, LostReason, Opportunity, Stage, StageChange, StageKind
from funnel.opportunities import services
from funnel.transfer import imports
from funnel.transfer.import_reading import ImportFinished, ImportRefused
from reps.models import AuditAction, AuditEvent
from tests.factories import AccountFactory, OpportunityFactory, UserFactory

CUSTOMERS, OPPORTUNITIES = ImportBatch.Kind.CUSTOMERS, ImportBatch.Kind.OPPORTUNITIES
OPPORTUNITY_HEADER = "name,customer,owner,stage,amount,expected_close_date,source,next_step\n"


def csv_text(header: str, *rows: str) -> str:
    return header + "".join(f"{row}\n" for row in rows)


def batch_of(user, kind: str, *rows: str, header: str | None = None) -> ImportBatch:
    header = header or (OPPORTUNITY_HEADER if kind == OPPORTUNITIES else "name,owner\n")
    return imports.import_batch_create(by=user, kind=kind, text=csv_text(header, *rows), filename="deals.csv")


def run(batch: ImportBatch, by, *, all_or_nothing: bool = False) -> ImportBatch:
    """Confirms the batch and runs its job here, as the page's job would."""
    imports.import_batch_confirm(batch=batch, by=by, all_or_nothing=all_or_nothing)
    return imports.import_batch_run(batch.pk)


@pytest.fixture
def huaxin(rep):
    return AccountFactory(owner=rep, name="Huaxin Steel")


# --- upload and preview ----------------------------------------------------------------------------
def test_preview_writes_nothing(rep, pipeline, huaxin, django_assert_max_num_queries):
    batch = batch_of(rep, OPPORTUNITIES, *[f"Deal {n},Huaxin Steel,,,1000,,," for n in range(300)])
    with django_assert_max_num_queries(9):
        preview = imports.import_batch_preview(batch=batch, user=rep)
    assert preview.valid_count == 300
    assert not Opportunity.objects.exists() and not StageChange.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.IMPORTED).exists()
    batch.refresh_from_db()
    assert (batch.status, batch.rows_total) == (ImportBatch.Status.PREVIEWED, 300)


def test_batch_create_refuses_a_file_over_the_row_limit_and_stores_nothing(rep):
    with pytest.raises(ImportRefused, match="more than 5000 rows"):
        imports.import_batch_create(by=rep, kind=CUSTOMERS, text="name\n" + "A\n" * 5001)
    assert not ImportBatch.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_refused_file_is_read_outside_any_transaction_so_others_can_save_meanwhile(rep, monkeypatch):
    """Issue 11.1: the file was read inside a transaction; on SQLite every other save then failed."""
    writer, seen = UserFactory(username="writer"), {}
    read = imports.parse_csv

    def reading_while_someone_saves(text, kind):
        seen["in_transaction"] = connection.in_atomic_block

        def save():
            try:
                Account.objects.create(name="Saved meanwhile", owner=writer)
                seen["save"] = "ok"
            except Exception as error:  # noqa: BLE001 - reported by the assertion below
                seen["save"] = repr(error)
            finally:
                connections.close_all()

        other = threading.Thread(target=save)
        other.start()
        other.join(timeout=30)
        return read(text, kind)

    monkeypatch.setattr(imports, "parse_csv", reading_while_someone_saves)
    with pytest.raises(ImportRefused, match="more than 5000 rows"):
        imports.import_batch_create(by=rep, kind=CUSTOMERS, text="name\n" + "x\n" * 200_000)
    assert seen == {"in_transaction": False, "save": "ok"}
    assert Account.objects.filter(name="Saved meanwhile").exists()


def test_opportunity_batch_defaults_to_the_default_pipeline(rep, pipeline, huaxin):
    assert batch_of(rep, OPPORTUNITIES, "A,Huaxin Steel,,,,,,").pipeline == pipeline


# --- the job ---------------------------------------------------------------------------------------
def test_importing_valid_opportunities_creates_them_with_their_first_stage_change(rep, pipeline, huaxin):
    batch = run(batch_of(rep, OPPORTUNITIES, 'A,Huaxin Steel,,Proposal,"1,000",,,Visit', "B,Huaxin Steel,,,,,,"), rep)
    deals = {deal.name: deal for deal in Opportunity.objects.select_related("stage")}
    assert deals["A"].stage.name == "Proposal" and deals["A"].amount == Decimal(1000)
    assert deals["A"].owner == rep and deals["A"].account == huaxin and deals["A"].next_step == "Visit"
    assert deals["A"].status == StageKind.OPEN and deals["A"].version == 1 and deals["A"].closed_at is None
    assert deals["B"].stage.name == "Qualified"
    changes = StageChange.objects.filter(opportunity__in=deals.values())
    assert sorted((c.from_stage, c.to_stage.name, c.by, c.note, c.checklist) for c in changes) == [
        (None, "Proposal", rep, "Imported", []),
        (None, "Qualified", rep, "Imported", []),
    ]
    assert all(c.at == c.opportunity.stage_entered_at == c.opportunity.created_at for c in changes)
    assert (batch.status, batch.imported_count, batch.skipped_count, batch.rows_done) == ("imported", 2, 0, 2)


def test_importing_customers_creates_them_for_their_owners(manager, rep):
    run(batch_of(manager, CUSTOMERS, "Huaxin,r1", "Baosteel,"), manager)
    assert dict(Account.objects.values_list("name", "owner")) == {"Huaxin": rep.pk, "Baosteel": manager.pk}


def test_valid_rows_mode_skips_invalid_rows_and_reports_them(rep, teammate, pipeline, huaxin):
    batch = run(batch_of(rep, OPPORTUNITIES, "A,Huaxin Steel,,,,,,", f"B,Huaxin Steel,{teammate.username},,,,,"), rep)
    assert list(Opportunity.objects.values_list("name", flat=True)) == ["A"]
    assert (batch.imported_count, batch.skipped_count) == (1, 1)
    assert batch.report == [{"row": 3, "errors": [f"Owner: “{teammate.username}” is not someone you can assign to."]}]


def test_all_or_nothing_mode_creates_nothing_when_one_row_is_invalid(rep, teammate, pipeline, huaxin):
    AccountFactory(owner=teammate, name="Teammate Co")
    batch = run(batch_of(rep, OPPORTUNITIES, "A,Huaxin Steel,,,,,,", "B,Teammate Co,,,,,,"), rep, all_or_nothing=True)
    assert not Opportunity.objects.exists() and not StageChange.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.IMPORTED).exists()
    assert batch.status == ImportBatch.Status.PREVIEWED  # the user may still import the valid rows
    assert batch.error == "Nothing was imported: 1 of 2 rows have problems. Correct them and upload again."


def test_all_or_nothing_mode_writes_nothing_when_a_row_fails_its_recheck(rep, pipeline, huaxin, monkeypatch):
    """A row that turns invalid between the check and the write (a customer reassigned) stops the lot."""
    batch = batch_of(rep, OPPORTUNITIES, "A,Huaxin Steel,,,,,,", "B,Huaxin Steel,,,,,,")
    check = imports.check_opportunity_rows

    def then_reassigned(*args, **kwargs):
        checks = check(*args, **kwargs)
        Account.objects.filter(pk=huaxin.pk).update(owner=UserFactory())
        return checks

    monkeypatch.setattr("funnel.transfer.imports.check_opportunity_rows", then_reassigned)
    batch = run(batch, rep, all_or_nothing=True)
    assert not Opportunity.objects.exists()
    assert batch.status == ImportBatch.Status.PREVIEWED and "Nothing was imported: 2 of 2" in batch.error


def test_all_or_nothing_mode_imports_every_row_when_all_are_valid(rep, pipeline, huaxin):
    batch = run(batch_of(rep, OPPORTUNITIES, "A,Huaxin Steel,,,,,,", "B,Huaxin Steel,,,,,,"), rep, all_or_nothing=True)
    assert Opportunity.objects.count() == 2 and (batch.status, batch.rows_done) == ("imported", 2)


def test_a_batch_with_no_valid_row_imports_nothing(rep, pipeline):
    batch = run(batch_of(rep, OPPORTUNITIES, "A,Nobody,,,,,,"), rep)
    assert (batch.status, batch.error) == (ImportBatch.Status.PREVIEWED, "No row is valid, so nothing was imported.")


def test_confirming_twice_imports_once(rep, pipeline, huaxin):
    batch = run(batch_of(rep, OPPORTUNITIES, "A,Huaxin Steel,,,,,,"), rep)
    with pytest.raises(ImportFinished):
        imports.import_batch_confirm(batch=batch, by=rep, all_or_nothing=False)
    assert imports.import_batch_run(batch.pk) is None  # a job started twice finds nothing left to do
    assert Opportunity.objects.count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.IMPORTED).count() == 1


def test_the_job_writes_chunk_by_chunk_and_records_its_progress(rep, pipeline, huaxin, monkeypatch):
    monkeypatch.setattr(imports, "CHUNK", 2)
    progress = []
    record = imports._record_progress

    def recording(batch, chunk, skipped):
        record(batch, chunk, skipped)
        progress.append((batch.rows_done, Opportunity.objects.count()))

    monkeypatch.setattr(imports, "_record_progress", recording)
    batch = run(batch_of(rep, OPPORTUNITIES, *[f"D{n},Huaxin Steel,,,,,," for n in range(5)]), rep)
    assert progress == [(2, 2), (4, 4), (5, 5)]
    assert (batch.rows_done, batch.imported_count) == (5, 5)


def test_a_job_killed_mid_import_runs_again_from_the_last_committed_chunk(rep, pipeline, huaxin, monkeypatch):
    """The worker dies during the second chunk: that chunk is rolled back, and the rerun imports each row once."""
    monkeypatch.setattr(imports, "CHUNK", 2)
    batch = batch_of(rep, OPPORTUNITIES, *[f"D{n},Huaxin Steel,,,,,," for n in range(5)])
    imports.import_batch_confirm(batch=batch, by=rep, all_or_nothing=False)
    create, calls = imports._create_opportunities, []

    def dies_on_the_second_chunk(checks, by):
        calls.append(len(checks))
        create(checks, by)
        if len(calls) == 2:
            raise SystemExit("worker killed")

    monkeypatch.setattr(imports, "_create_opportunities", dies_on_the_second_chunk)
    with pytest.raises(SystemExit):
        imports.import_batch_run(batch.pk)
    batch.refresh_from_db()
    assert (batch.status, batch.rows_done, Opportunity.objects.count()) == ("importing", 2, 2)
    imports.import_batch_run(batch.pk)
    batch.refresh_from_db()
    assert sorted(Opportunity.objects.values_list("name", flat=True)) == [f"D{n}" for n in range(5)]
    assert (batch.status, batch.rows_done, batch.imported_count) == ("imported", 5, 5)
    assert AuditEvent.objects.filter(action=AuditAction.IMPORTED).count() == 1


def test_a_job_that_fails_unexpectedly_marks_the_batch_failed(rep, pipeline, huaxin, monkeypatch):
    from funnel.tasks import import_batch_run_task

    batch = batch_of(rep, OPPORTUNITIES, "A,Huaxin Steel,,,,,,")
    imports.import_batch_confirm(batch=batch, by=rep, all_or_nothing=False)
    monkeypatch.setattr(imports, "_create_opportunities", lambda checks, by: 1 / 0)
    import_batch_run_task.apply(args=[batch.pk])
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.FAILED and "unexpected error" in batch.error


def test_confirm_checks_the_rows_again(rep, teammate, pipeline, huaxin):
    batch = batch_of(rep, OPPORTUNITIES, "A,Huaxin Steel,,,,,,")
    huaxin.owner = teammate  # reassigned after the preview
    huaxin.save()
    assert run(batch, rep).error == "No row is valid, so nothing was imported."
    assert not Opportunity.objects.exists()


def test_only_the_uploader_can_confirm_or_cancel_a_batch(rep, admin_user, pipeline, huaxin):
    batch = batch_of(rep, OPPORTUNITIES, "A,Huaxin Steel,,,,,,")
    with pytest.raises(ImportFinished):
        imports.import_batch_confirm(batch=batch, by=admin_user, all_or_nothing=False)
    with pytest.raises(ImportFinished):
        imports.import_batch_cancel(batch=batch, by=admin_user)
    assert imports.import_batch_run(batch.pk) is None  # not confirmed: the job does nothing
    assert not Opportunity.objects.exists()


def test_import_is_audited_with_kind_and_counts(rep, teammate, pipeline, huaxin):
    batch = run(batch_of(rep, OPPORTUNITIES, "A,Huaxin Steel,,,,,,", "B,Nowhere,,,,,,"), rep)
    event = AuditEvent.objects.get(action=AuditAction.IMPORTED)
    assert (event.actor, event.object_type, event.object_id) == (rep, "funnel.importbatch", str(batch.pk))
    assert event.detail == {"kind": "opportunities", "rows": 1, "skipped": 1}


def test_cancel_erases_the_file_and_stops_a_later_import(rep, pipeline, huaxin):
    batch = batch_of(rep, OPPORTUNITIES, "A,Huaxin Steel,,,,,,")
    imports.import_batch_cancel(batch=batch, by=rep)
    batch.refresh_from_db()
    assert (batch.status, batch.text) == ("cancelled", "")
    with pytest.raises(ImportFinished):
        imports.import_batch_confirm(batch=batch, by=rep, all_or_nothing=False)


def test_a_stalled_import_may_be_resumed_and_a_live_one_not(rep, pipeline, huaxin):
    batch = batch_of(rep, OPPORTUNITIES, "A,Huaxin Steel,,,,,,")
    imports.import_batch_confirm(batch=batch, by=rep, all_or_nothing=False)
    with pytest.raises(ImportRefused, match="not stalled"):
        imports.import_batch_resume(batch=batch, by=rep)
    ImportBatch.objects.filter(pk=batch.pk).update(progress_at=batch.progress_at - imports.STALLED_AFTER * 2)
    batch.refresh_from_db()
    assert imports.import_batch_stalled(batch)
    imports.import_batch_resume(batch=batch, by=rep)
    assert imports.import_batch_run(batch.pk).imported_count == 1


def test_error_report_lists_problem_rows_with_their_original_cells(rep, pipeline, huaxin):
    batch = batch_of(rep, OPPORTUNITIES, "A,Huaxin Steel,,,,,,", "=cmd,Nowhere,,,,,,")
    header, rows = imports.error_report(batch=batch, user=rep)
    assert header[:3] == ["Row", "Problems", "name"]
    assert rows == [
        ["3", "There is no customer named “Nowhere” that you can see.", "=cmd", "Nowhere", "", "", "", "", "", ""]
    ]
    batch = run(batch, rep)
    assert imports.error_report(batch=batch, user=rep)[1] == rows  # after the import: the reasons found then


# --- an admin's import is a migration (issue 10.5) -------------------------------------------------
def test_an_admins_import_brings_deals_into_gated_won_and_lost_stages(admin_user, pipeline):
    Stage.objects.filter(name__in=["Proposal", "Won"]).update(checklist="Budget confirmed")
    AccountFactory(owner=admin_user, name="Huaxin Steel")
    price = LostReason.objects.create(name="Price")
    header = "name,customer,stage,amount,closed_date,lost_reason\n"
    batch = batch_of(
        admin_user,
        OPPORTUNITIES,
        "Open,Huaxin Steel,Proposal,1,,",
        "Won deal,Huaxin Steel,Won,2,2025-03-01,",
        "Lost deal,Huaxin Steel,Lost,3,2025-03-02,Price",
        header=header,
    )
    assert run(batch, admin_user).imported_count == 3
    deals = {deal.name: deal for deal in Opportunity.objects.all()}
    assert (deals["Open"].status, deals["Open"].closed_at) == (StageKind.OPEN, None)
    won, lost = deals["Won deal"], deals["Lost deal"]
    assert won.status == StageKind.WON and won.closed_at.date() == date(2025, 3, 1)
    assert won.stage_entered_at == won.created_at == won.closed_at
    assert lost.status == StageKind.LOST and lost.lost_reason == price
    notes = dict(StageChange.objects.values_list("opportunity__name", "note"))
    assert notes == {
        "Open": "Imported; the stage's checklist and required fields were not confirmed.",
        "Won deal": "Imported; the stage's checklist and required fields were not confirmed.",
        "Lost deal": "Imported",
    }
    assert [change.checklist for change in StageChange.objects.all()] == [[], [], []]  # nothing confirmed


def test_a_reps_import_into_a_gated_stage_imports_nothing(rep, pipeline, huaxin):
    Stage.objects.filter(name="Proposal").update(checklist="Budget confirmed")
    batch = run(batch_of(rep, OPPORTUNITIES, "A,Huaxin Steel,,Proposal,1,,,"), rep)
    assert batch.error == "No row is valid, so nothing was imported." and not Opportunity.objects.exists()


# --- racing on PostgreSQL --------------------------------------------------------------------------
def race(*targets):
    """Runs the targets at the same moment, each on its own thread and connection; returns their errors."""
    start, errors = threading.Barrier(len(targets)), []

    def run_one(target):
        try:
            start.wait()
            target()
        except Exception as error:  # noqa: BLE001 - reported by the caller's assertion
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run_one, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


@pytest.mark.django_db(transaction=True)
def test_two_imports_of_one_customer_file_at_once_create_each_customer_once(rep, monkeypatch):
    """Issue 10.10 (QUALITY R18): the second import reports the first one's customers as duplicates."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time")
    text = "name\n" + "".join(f"Customer {n}\n" for n in range(20))
    batches = [imports.import_batch_create(by=rep, kind=CUSTOMERS, text=text) for _ in range(2)]
    for batch in batches:
        imports.import_batch_confirm(batch=batch, by=rep, all_or_nothing=False)
    both_checked, write = threading.Barrier(2), imports._write

    def write_once_both_have_checked(*args, **kwargs):  # both found no duplicate before either wrote
        both_checked.wait(timeout=30)
        return write(*args, **kwargs)

    monkeypatch.setattr(imports, "_write", write_once_both_have_checked)
    assert race(*[lambda batch=batch: imports.import_batch_run(batch.pk) for batch in batches]) == []
    assert Account.objects.count() == 20
    results = ImportBatch.objects.filter(pk__in=[batch.pk for batch in batches])
    assert sorted((batch.imported_count, batch.skipped_count) for batch in results) == [(0, 20), (20, 0)]
    second = results.get(skipped_count=20)
    assert {error for item in second.report for error in item["errors"]} == {
        f"You already have a customer named “Customer {n}”." for n in range(20)
    }


@pytest.mark.django_db(transaction=True)
def test_two_runs_of_one_import_job_at_once_import_each_row_once(rep, pipeline, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time")
    monkeypatch.setattr(imports, "CHUNK", 3)
    AccountFactory(owner=rep, name="Huaxin Steel")
    batch = batch_of(rep, OPPORTUNITIES, *[f"D{n},Huaxin Steel,,,,,," for n in range(10)])
    imports.import_batch_confirm(batch=batch, by=rep, all_or_nothing=False)
    assert race(lambda: imports.import_batch_run(batch.pk), lambda: imports.import_batch_run(batch.pk)) == []
    assert Opportunity.objects.count() == 10
    batch.refresh_from_db()
    assert (batch.status, batch.rows_done, batch.imported_count) == ("imported", 10, 10)
    assert AuditEvent.objects.filter(action=AuditAction.IMPORTED).count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_import_does_not_hold_up_a_board_move_into_its_stages(rep, pipeline, monkeypatch):
    """Issue 10.9: the import locked every stage FOR UPDATE and deadlocked with moves; now it share-locks
    the stages its deals enter, which a move into the same stage shares."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time")
    AccountFactory(owner=rep, name="Huaxin Steel")
    proposal = Stage.objects.get(name="Proposal")
    deal = OpportunityFactory(owner=rep)
    batch = batch_of(rep, OPPORTUNITIES, "A,Huaxin Steel,,Proposal,,,,")
    imports.import_batch_confirm(batch=batch, by=rep, all_or_nothing=False)
    create, moved = imports._create_opportunities, []

    def move_meanwhile():
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '3s'")
        services.opportunity_move(opportunity=deal, stage=proposal, by=rep, version=deal.version)
        moved.append(True)

    def create_while_a_move_runs(checks, by):
        create(checks, by)
        assert race(move_meanwhile) == []  # the import's transaction is still open here

    monkeypatch.setattr(imports, "_create_opportunities", create_while_a_move_runs)
    imports.import_batch_run(batch.pk)
    assert moved == [True] and Opportunity.objects.filter(stage=proposal).count() == 2

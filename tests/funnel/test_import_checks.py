"""Checking import rows (reads only): every row rule both ways; an admin's import is a migration."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from funnel.models import ImportBatch, LostReason, Stage
from funnel.transfer.import_checks import RowCheck, check_customer_rows, check_opportunity_rows
from funnel.transfer.import_reading import parse_csv
from funnel.transfer.imports import default_pipeline
from tests.factories import AccountFactory, PipelineFactory, SourceFactory, StageFactory

CUSTOMERS, OPPORTUNITIES = ImportBatch.Kind.CUSTOMERS, ImportBatch.Kind.OPPORTUNITIES
OPPORTUNITY_HEADER = "name,customer,owner,stage,amount,expected_close_date,source,next_step\n"
CLOSED_HEADER = "name,customer,stage,amount,closed_date,lost_reason\n"


def csv_text(header: str, *rows: str) -> str:
    return header + "".join(f"{row}\n" for row in rows)


def check_customers(user, *rows: str, header: str = "name,owner,phone,website\n") -> list[RowCheck]:
    return check_customer_rows(parse_csv(csv_text(header, *rows), CUSTOMERS).rows, user=user)


def check_opportunities(user, *rows: str, pipeline=None, header: str = OPPORTUNITY_HEADER) -> list[RowCheck]:
    parsed = parse_csv(csv_text(header, *rows), OPPORTUNITIES)
    return check_opportunity_rows(parsed.rows, user=user, pipeline=pipeline or default_pipeline())


def errors(check) -> str:
    return " ".join(check.errors)


# --- customers -------------------------------------------------------------------------------------
def test_customer_row_with_blank_owner_belongs_to_the_importer(rep):
    [check] = check_customers(rep, "华信钢铁,,021-6666 8888,www.huaxin.cn")
    assert check.valid
    assert check.data["owner"] == rep
    assert check.data["website"] == "https://www.huaxin.cn"


def test_customer_name_is_required(rep):
    [check] = check_customers(rep, ",,555,")
    assert "Name is required." in check.errors


def test_customer_already_visible_to_the_user_is_a_duplicate(rep):
    AccountFactory(owner=rep, name="Huaxin Steel")
    [check] = check_customers(rep, " huaxin steel ,,,")
    assert "You already have a customer named “huaxin steel”." in check.errors


def test_another_teams_customer_of_the_same_name_is_neither_a_duplicate_nor_revealed(rep, other_rep):
    AccountFactory(owner=other_rep, name="Huaxin Steel")
    [check] = check_customers(rep, "Huaxin Steel,,,")
    assert check.valid


def test_a_name_repeated_in_the_file_is_flagged_on_the_later_row(rep):
    first, second = check_customers(rep, "Huaxin,,,", "HUAXIN,,,")
    assert first.valid
    assert "Row 2 of this file already has the name “HUAXIN”." in second.errors


def test_rep_cannot_give_an_imported_customer_to_a_teammate(rep, teammate):
    [check] = check_customers(rep, f"Huaxin,{teammate.username},,")
    assert errors(check) == f"Owner: “{teammate.username}” is not someone you can assign to."


def test_manager_may_give_customers_to_the_team_but_not_to_another_team(manager, rep, other_rep):
    mine, foreign = check_customers(manager, "A,R1,,", f"B,{other_rep.username},,")
    assert mine.valid and mine.data["owner"] == rep
    assert not foreign.valid


def test_a_deactivated_owner_is_refused(manager, teammate):
    teammate.is_active = False
    teammate.save()
    [check] = check_customers(manager, f"A,{teammate.username},,")
    assert "is not someone you can assign to" in errors(check)


def test_customer_phone_and_website_formats_are_checked(rep):
    bad, good = check_customers(rep, "A,,call me,not a site", "B,,+86 (21) 6666-8888,https://huaxin.cn/about")
    assert "Phone: use digits, spaces and + - ( ) / . # only." in bad.errors
    assert "Website: “https://not a site” is not a web address." in bad.errors
    assert good.valid


def test_overlong_values_and_values_without_a_header_are_errors(rep):
    [long_name] = check_customers(rep, f"{'x' * 201},,,")
    assert "Name is longer than 200 characters." in long_name.errors
    [stray] = check_customers(rep, "A,,,,extra")
    assert "This row has values in a column without a header." in stray.errors


# --- opportunities ---------------------------------------------------------------------------------
@pytest.fixture
def huaxin(rep):
    return AccountFactory(owner=rep, name="Huaxin Steel")


def test_a_valid_opportunity_row_is_mapped_for_the_service(rep, pipeline, huaxin):
    source = SourceFactory(name="Exhibition")
    [check] = check_opportunities(rep, 'Blast furnace,Huaxin Steel,,proposal,"1,200,000",2025/6/30,exhibition,Demo')
    assert check.valid, check.errors
    assert check.data["account"] == huaxin and check.data["owner"] == rep
    assert check.data["stage"].name == "Proposal"
    assert check.data["amount"] == Decimal("1200000")
    assert check.data["expected_close_date"] == date(2025, 6, 30)
    assert check.data["source"] == source


def test_a_blank_stage_means_the_first_open_stage(rep, pipeline, huaxin):
    [check] = check_opportunities(rep, "Deal,Huaxin Steel,,,,,,")
    assert check.data["stage"].name == "Qualified"


def test_rep_cannot_import_an_opportunity_for_a_teammates_or_other_teams_customer(rep, teammate, other_rep, pipeline):
    AccountFactory(owner=teammate, name="Teammate Co")
    AccountFactory(owner=other_rep, name="Other Co")
    mate, other = check_opportunities(rep, "A,Teammate Co,,,,,,", "B,Other Co,,,,,,")
    assert errors(mate) == "There is no customer named “Teammate Co” that you can see."
    assert errors(other) == "There is no customer named “Other Co” that you can see."
    assert teammate.username not in errors(mate) and other_rep.username not in errors(other)


def test_manager_may_import_for_a_team_customer(manager, teammate, pipeline):
    AccountFactory(owner=teammate, name="Teammate Co")
    [check] = check_opportunities(manager, f"A,Teammate Co,{teammate.username},,,,,")
    assert check.valid and check.data["owner"] == teammate


def test_rep_cannot_import_an_opportunity_owned_by_a_teammate_or_another_team(
    rep, teammate, other_rep, pipeline, huaxin
):
    mate, other = check_opportunities(
        rep, f"A,Huaxin Steel,{teammate.username},,,,,", f"B,Huaxin Steel,{other_rep.username},,,,,"
    )
    assert "is not someone you can assign to" in errors(mate)
    assert "is not someone you can assign to" in errors(other)


def test_two_visible_customers_of_one_name_are_ambiguous(manager, rep, teammate, pipeline):
    AccountFactory(owner=rep, name="Twin")
    AccountFactory(owner=teammate, name="Twin")
    [check] = check_opportunities(manager, "A,Twin,,,,,,")
    assert "2 customers you can see are named “Twin”" in errors(check)


def test_name_and_customer_are_required(rep, pipeline):
    [check] = check_opportunities(rep, ",,,,5,,,")
    assert check.errors[:2] == ["Name is required.", "Customer is required."]


@pytest.mark.parametrize(
    ("stage", "message"),
    [
        ("Won", "a new opportunity starts in an open stage, and “Won” is not one"),
        ("Lost", "a new opportunity starts in an open stage, and “Lost” is not one"),
        ("Closing", "“Closing” is not a stage of “Project sales”"),
    ],
)
def test_a_stage_must_be_an_open_stage_of_the_pipeline(rep, pipeline, huaxin, stage, message):
    [check] = check_opportunities(rep, f"A,Huaxin Steel,,{stage},,,,")
    assert message in errors(check)


@pytest.mark.parametrize("role", ["rep", "admin_user"])
def test_an_archived_stage_is_refused_to_everyone(request, rep, pipeline, role):
    user = request.getfixturevalue(role)
    AccountFactory(owner=user, name="Huaxin Steel")
    Stage.objects.filter(name="Negotiation").update(is_archived=True)
    [check] = check_opportunities(user, "A,Huaxin Steel,,Negotiation,,,,")
    assert errors(check) == "Stage: “Negotiation” is archived."


def test_stage_names_come_from_the_chosen_pipeline(rep, pipeline, huaxin):
    other = PipelineFactory(name="Services")
    StageFactory(pipeline=other, name="Scoping", order=1)
    [default] = check_opportunities(rep, "A,Huaxin Steel,,Scoping,,,,")
    [chosen] = check_opportunities(rep, "A,Huaxin Steel,,Scoping,,,,", pipeline=other)
    assert not default.valid and chosen.valid


def test_a_stage_with_a_checklist_cannot_be_entered_from_a_file(rep, pipeline, huaxin):
    Stage.objects.filter(name="Proposal").update(checklist="Budget confirmed\n")
    Stage.objects.filter(name="Negotiation").update(checklist="  \n")
    checklist, empty = check_opportunities(rep, "A,Huaxin Steel,,Proposal,1,,,", "B,Huaxin Steel,,Negotiation,1,,,")
    assert "“Proposal” has a checklist, which cannot be confirmed in a file" in errors(checklist)
    assert empty.valid


def test_the_stage_gate_requires_its_fields(rep, pipeline, huaxin):
    Stage.objects.filter(name="Proposal").update(required_fields=["amount", "expected_close_date"])
    missing, filled = check_opportunities(
        rep, "A,Huaxin Steel,,Proposal,,,,", "B,Huaxin Steel,,Proposal,500,2025-09-01,,"
    )
    assert errors(missing) == "Before entering “Proposal”, fill in Amount, Expected close date."
    assert filled.valid


def test_amount_dates_and_source_are_checked(rep, pipeline, huaxin):
    SourceFactory(name="Retired", is_active=False)
    [check] = check_opportunities(rep, "A,Huaxin Steel,,,-5,31/12/2025,Retired,")
    assert check.errors == [
        "Amount: “-5” is not an amount of money, such as 1200000 or 1,200,000.00.",
        "Expected close date: “31/12/2025” is not a date written as YYYY-MM-DD or YYYY/MM/DD.",
        "Source: “Retired” is not one of the active sources.",
    ]


def test_a_nul_character_in_a_cell_is_a_row_error_and_the_other_rows_stay_valid(rep):
    """Issue 11.3: on PostgreSQL a NUL in a cell was a 500; now its row is refused and the rest imports."""
    text = "name,phone\nA\u2400B,\nGood,\n"
    bad, good = check_customer_rows(parse_csv(text, CUSTOMERS).rows, user=rep)
    assert "This row holds a NUL character (shown as ␀), which cannot be stored." in errors(bad)
    assert good.valid


# --- an admin's import is a migration (issue 10.5) -------------------------------------------------
@pytest.fixture
def checklists(pipeline):
    Stage.objects.filter(name__in=["Proposal", "Won"]).update(checklist="Budget confirmed\nDecision maker met")
    Stage.objects.filter(name="Negotiation").update(required_fields=["expected_close_date"])


@pytest.fixture
def admins_customer(admin_user):
    return AccountFactory(owner=admin_user, name="Huaxin Steel")


@pytest.mark.parametrize("role", ["rep", "manager"])
def test_a_reps_and_a_managers_import_keep_the_checklist_gate(request, pipeline, checklists, role):
    user = request.getfixturevalue(role)
    AccountFactory(owner=user, name="Huaxin Steel")
    checklist, required = check_opportunities(user, "A,Huaxin Steel,,Proposal,1,,,", "B,Huaxin Steel,,Negotiation,1,,,")
    assert "“Proposal” has a checklist, which cannot be confirmed in a file" in errors(checklist)
    assert errors(required) == "Before entering “Negotiation”, fill in Expected close date."


def test_an_admins_import_places_deals_in_gated_stages_and_says_the_gate_was_not_confirmed(
    admin_user, pipeline, checklists, admins_customer
):
    checklist, required, plain = check_opportunities(
        admin_user, "A,Huaxin Steel,,Proposal,1,,,", "B,Huaxin Steel,,Negotiation,1,,,", "C,Huaxin Steel,,,1,,,"
    )
    assert checklist.valid and required.valid and plain.valid
    assert checklist.data["stage"].name == "Proposal" and required.data["stage"].name == "Negotiation"
    not_confirmed = "Imported; the stage's checklist and required fields were not confirmed."
    assert (checklist.data["note"], required.data["note"], plain.data["note"]) == (
        not_confirmed,
        not_confirmed,
        "Imported",
    )


@pytest.mark.parametrize("role", ["rep", "manager"])
def test_only_an_admin_imports_won_or_lost_deals(request, pipeline, role):
    user = request.getfixturevalue(role)
    AccountFactory(owner=user, name="Huaxin Steel")
    LostReason.objects.create(name="Price")
    won, lost = check_opportunities(
        user, "A,Huaxin Steel,Won,1,2025-03-01,", "B,Huaxin Steel,Lost,1,2025-03-01,Price", header=CLOSED_HEADER
    )
    assert "a new opportunity starts in an open stage, and “Won” is not one" in errors(won)
    assert "a new opportunity starts in an open stage, and “Lost” is not one" in errors(lost)


def test_an_admins_won_and_lost_rows_carry_their_closed_date_and_reason(admin_user, pipeline, admins_customer):
    price = LostReason.objects.create(name="Price")
    won, lost = check_opportunities(
        admin_user, "A,Huaxin Steel,Won,1,2025/3/1,", "B,Huaxin Steel,lost,1,2025-03-02,price", header=CLOSED_HEADER
    )
    assert won.valid and lost.valid, (won.errors, lost.errors)
    assert won.data["stage"].name == "Won" and "lost_reason" not in won.data
    assert lost.data["lost_reason"] == price
    assert won.data["closed_at"].date() == date(2025, 3, 1) and lost.data["closed_at"].date() == date(2025, 3, 2)
    assert won.data["closed_at"].utcoffset() == timedelta(hours=8)  # noon in the admin's zone, Asia/Shanghai


def test_a_closed_row_needs_a_closed_date_not_in_the_future_and_a_lost_one_an_active_reason(
    admin_user, pipeline, admins_customer
):
    LostReason.objects.create(name="Retired", is_active=False)
    tomorrow = (admin_user.local_now().date() + timedelta(days=1)).isoformat()
    no_date, future, no_reason, retired, reason_on_won = check_opportunities(
        admin_user,
        "A,Huaxin Steel,Won,1,,",
        f"B,Huaxin Steel,Won,1,{tomorrow},",
        "C,Huaxin Steel,Lost,1,2025-03-01,",
        "D,Huaxin Steel,Lost,1,2025-03-01,Retired",
        "E,Huaxin Steel,Won,1,2025-03-01,Price",
        header=CLOSED_HEADER,
    )
    assert errors(no_date) == "Closed date is required for a won or lost deal."
    assert errors(future) == f"Closed date: {tomorrow} is in the future."
    assert errors(no_reason) == "Lost reason is required for a lost deal."
    assert errors(retired) == "Lost reason: “Retired” is not one of the active reasons."
    assert errors(reason_on_won) == "Lost reason is only for a lost deal."


def test_an_open_row_may_not_carry_a_closed_date_or_a_lost_reason(admin_user, pipeline, admins_customer):
    [check] = check_opportunities(admin_user, "A,Huaxin Steel,Proposal,1,2025-03-01,", header=CLOSED_HEADER)
    assert errors(check) == "Closed date and lost reason are only for a won or lost deal."

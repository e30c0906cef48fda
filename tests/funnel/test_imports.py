"""CSV import services: parsing, every row rule both ways, preview writes nothing, confirm once, all or nothing."""

from datetime import date
from decimal import Decimal

import pytest

from funnel import imports
from funnel.imports import ImportFinished, ImportRefused, parse_amount, parse_csv, parse_date
from funnel.models import Account, ImportBatch, Opportunity, Stage, StageChange
from reps.models import AuditAction, AuditEvent
from tests.factories import AccountFactory, PipelineFactory, SourceFactory, StageFactory, UserFactory

CUSTOMERS, OPPORTUNITIES = ImportBatch.Kind.CUSTOMERS, ImportBatch.Kind.OPPORTUNITIES
OPPORTUNITY_HEADER = "name,customer,owner,stage,amount,expected_close_date,source,next_step\n"


def csv_text(header: str, *rows: str) -> str:
    return header + "".join(f"{row}\n" for row in rows)


def check_customers(user, *rows: str, header: str = "name,owner,phone,website\n") -> list[imports.RowCheck]:
    return imports.check_customer_rows(parse_csv(csv_text(header, *rows), CUSTOMERS).rows, user=user)


def check_opportunities(user, *rows: str, pipeline=None, header: str = OPPORTUNITY_HEADER) -> list:
    parsed = parse_csv(csv_text(header, *rows), OPPORTUNITIES)
    chosen = pipeline or imports.default_pipeline()
    return imports.check_opportunity_rows(parsed.rows, user=user, pipeline=chosen)


def batch_of(user, kind: str, *rows: str, header: str | None = None) -> ImportBatch:
    header = header or (OPPORTUNITY_HEADER if kind == OPPORTUNITIES else "name,owner\n")
    return imports.import_batch_create(by=user, kind=kind, text=csv_text(header, *rows), filename="deals.csv")


def errors(check) -> str:
    return " ".join(check.errors)


# --- parsing ---------------------------------------------------------------------------------------
def test_decoding_accepts_utf8_with_and_without_bom_and_gbk():
    text = "名称,城市\n华信钢铁,上海\n"
    assert imports.decode_csv(text.encode("utf-8")) == text
    assert imports.decode_csv(b"\xef\xbb\xbf" + text.encode("utf-8")) == text
    assert imports.decode_csv(text.encode("gbk")) == text
    assert imports.decode_csv(text.encode("gb18030")) == text


def test_decoding_refuses_bytes_that_are_no_known_text():
    with pytest.raises(ImportRefused, match="UTF-8"):
        imports.decode_csv(b"name\n\xff\xff\xff\n")


def test_chinese_and_english_headers_name_the_same_columns():
    parsed = parse_csv("名称,负责人,行业,城市,地址,电话,网站\n华信钢铁,r1,钢铁,上海,浦东,021-1234,hx.cn\n", CUSTOMERS)
    assert parsed.rows[0].values == {
        "name": "华信钢铁",
        "owner": "r1",
        "industry": "钢铁",
        "city": "上海",
        "address": "浦东",
        "phone": "021-1234",
        "website": "hx.cn",
    }
    chinese = parse_csv(
        "名称,客户,负责人,阶段,金额,预计成交日期,商机来源,下一步\nA,B,r1,Qualified,1,2025-01-01,Web,Call\n",
        OPPORTUNITIES,
    )
    english = parse_csv(csv_text(OPPORTUNITY_HEADER, "A,B,r1,Qualified,1,2025-01-01,Web,Call"), OPPORTUNITIES)
    assert chinese.rows[0].values == english.rows[0].values


def test_headers_are_matched_ignoring_case_spaces_and_hyphens():
    parsed = parse_csv("Name,Customer, Expected close date ,NEXT-STEP\nA,B,2025-01-01,x\n", OPPORTUNITIES)
    assert parsed.fields == ["name", "customer", "expected_close_date", "next_step"]


def test_template_header_is_accepted_in_both_languages():
    for kind in (CUSTOMERS, OPPORTUNITIES):
        for chinese in (False, True):
            header = ",".join(imports.template_header(kind, chinese=chinese))
            parsed = parse_csv(f"{header}\n{',' * (header.count(','))}x\n", kind)
            assert parsed.fields == [column.field for column in imports.COLUMNS[kind]]


def test_unknown_column_is_refused_naming_it():
    with pytest.raises(ImportRefused, match="Unknown columns: colour"):
        parse_csv("name,colour\nA,red\n", CUSTOMERS)


def test_missing_required_column_is_refused():
    with pytest.raises(ImportRefused, match="customer"):
        parse_csv("name,amount\nA,1\n", OPPORTUNITIES)


def test_a_column_given_twice_is_refused():
    with pytest.raises(ImportRefused, match="more than once"):
        parse_csv("name,名称\nA,B\n", CUSTOMERS)


def test_empty_file_and_header_only_file_are_refused():
    with pytest.raises(ImportRefused, match="empty"):
        parse_csv("", CUSTOMERS)
    with pytest.raises(ImportRefused, match="no rows"):
        parse_csv("name,city\n,\n", CUSTOMERS)


def test_blank_rows_are_skipped_and_rows_keep_their_spreadsheet_numbers():
    parsed = parse_csv('name,notes\nA,x\n,\nB,"two\nlines"\n', CUSTOMERS)
    assert [(row.number, row.values["name"]) for row in parsed.rows] == [(2, "A"), (4, "B")]
    assert parsed.rows[1].values["notes"] == "two\nlines"


def test_5000_rows_are_accepted_and_5001_refused_with_the_count():
    assert len(parse_csv("name\n" + "A\n" * 5000, CUSTOMERS).rows) == 5000
    with pytest.raises(ImportRefused, match="5001 rows; at most 5000"):
        parse_csv("name\n" + "A\n" * 5001, CUSTOMERS)


@pytest.mark.parametrize(
    ("text", "amount"),
    [("1,200,000", "1200000"), ("1200000.00", "1200000"), ("¥1,200,000.50", "1200000.50"), ("0", "0")],
)
def test_amounts_accept_thousands_separators_and_decimals(text, amount):
    assert parse_amount(text) == Decimal(amount)


@pytest.mark.parametrize("text", ["-5", "abc", "1,20,000", "1.234", "1e5", "12,00", "1000000000000"])
def test_amounts_refuse_negatives_and_malformed_numbers(text):
    with pytest.raises(ValueError):
        parse_amount(text)


def test_dates_accept_dashes_and_slashes():
    assert parse_date("2025-03-05") == parse_date("2025/3/5") == date(2025, 3, 5)


@pytest.mark.parametrize("text", ["05/03/2025", "2025-02-30", "2025.03.05", "next week", "2025-13-01"])
def test_dates_refuse_other_formats_and_impossible_days(text):
    with pytest.raises(ValueError):
        parse_date(text)


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


def test_an_archived_stage_is_refused(rep, pipeline, huaxin):
    Stage.objects.filter(name="Negotiation").update(is_archived=True)
    [check] = check_opportunities(rep, "A,Huaxin Steel,,Negotiation,,,,")
    assert "is not one" in errors(check)


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


# --- preview and confirm ---------------------------------------------------------------------------
def test_preview_writes_nothing(rep, pipeline, huaxin, django_assert_max_num_queries):
    batch = batch_of(rep, OPPORTUNITIES, *[f"Deal {n},Huaxin Steel,,,1000,,," for n in range(300)])
    with django_assert_max_num_queries(8):
        preview = imports.import_batch_preview(batch=batch, user=rep)
    assert preview.valid_count == 300
    assert not Opportunity.objects.exists() and not StageChange.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.IMPORTED).exists()
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.PREVIEWED


def test_batch_create_refuses_a_file_over_the_row_limit_and_stores_nothing(rep):
    with pytest.raises(ImportRefused, match="5001 rows"):
        imports.import_batch_create(by=rep, kind=CUSTOMERS, text="name\n" + "A\n" * 5001)
    assert not ImportBatch.objects.exists()


def test_opportunity_batch_defaults_to_the_default_pipeline(rep, pipeline, huaxin):
    assert batch_of(rep, OPPORTUNITIES, "A,Huaxin Steel,,,,,,").pipeline == pipeline


def test_importing_valid_opportunities_creates_them_with_their_first_stage_change(rep, pipeline, huaxin):
    batch = batch_of(rep, OPPORTUNITIES, 'A,Huaxin Steel,,Proposal,"1,000",,,Visit', "B,Huaxin Steel,,,,,,")
    imports.import_batch_confirm(batch=batch, by=rep, all_or_nothing=True)
    deals = {deal.name: deal for deal in Opportunity.objects.select_related("stage")}
    assert deals["A"].stage.name == "Proposal" and deals["A"].amount == Decimal(1000)
    assert deals["A"].owner == rep and deals["A"].account == huaxin and deals["A"].next_step == "Visit"
    assert deals["B"].stage.name == "Qualified"
    changes = StageChange.objects.filter(opportunity__in=deals.values())
    assert sorted((c.from_stage, c.to_stage.name, c.by) for c in changes) == [
        (None, "Proposal", rep),
        (None, "Qualified", rep),
    ]
    batch.refresh_from_db()
    assert (batch.status, batch.imported_count, batch.skipped_count) == ("imported", 2, 0)


def test_importing_customers_creates_them_for_their_owners(manager, rep):
    batch = batch_of(manager, CUSTOMERS, "Huaxin,r1", "Baosteel,")
    imports.import_batch_confirm(batch=batch, by=manager, all_or_nothing=False)
    assert dict(Account.objects.values_list("name", "owner")) == {"Huaxin": rep.pk, "Baosteel": manager.pk}


def test_valid_rows_mode_skips_invalid_rows_and_reports_them(rep, teammate, pipeline, huaxin):
    batch = batch_of(rep, OPPORTUNITIES, "A,Huaxin Steel,,,,,,", f"B,Huaxin Steel,{teammate.username},,,,,")
    imports.import_batch_confirm(batch=batch, by=rep, all_or_nothing=False)
    assert list(Opportunity.objects.values_list("name", flat=True)) == ["A"]
    batch.refresh_from_db()
    assert (batch.imported_count, batch.skipped_count) == (1, 1)
    assert batch.report == [{"row": 3, "errors": [f"Owner: “{teammate.username}” is not someone you can assign to."]}]


def test_all_or_nothing_mode_creates_nothing_when_one_row_is_invalid(rep, teammate, pipeline, huaxin):
    AccountFactory(owner=teammate, name="Teammate Co")
    batch = batch_of(rep, OPPORTUNITIES, "A,Huaxin Steel,,,,,,", "B,Teammate Co,,,,,,")
    with pytest.raises(ImportRefused, match="Nothing was imported: 1 of 2 rows have problems"):
        imports.import_batch_confirm(batch=batch, by=rep, all_or_nothing=True)
    assert not Opportunity.objects.exists() and not StageChange.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.IMPORTED).exists()
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.PREVIEWED  # the user may still import the valid rows


def test_a_batch_with_no_valid_row_imports_nothing(rep, pipeline):
    batch = batch_of(rep, OPPORTUNITIES, "A,Nobody,,,,,,")
    with pytest.raises(ImportRefused, match="No row is valid"):
        imports.import_batch_confirm(batch=batch, by=rep, all_or_nothing=False)
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.PREVIEWED


def test_confirming_twice_imports_once(rep, pipeline, huaxin):
    batch = batch_of(rep, OPPORTUNITIES, "A,Huaxin Steel,,,,,,")
    imports.import_batch_confirm(batch=batch, by=rep, all_or_nothing=False)
    with pytest.raises(ImportFinished):
        imports.import_batch_confirm(batch=batch, by=rep, all_or_nothing=False)
    assert Opportunity.objects.count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.IMPORTED).count() == 1


def test_confirm_checks_the_rows_again(rep, teammate, pipeline, huaxin):
    batch = batch_of(rep, OPPORTUNITIES, "A,Huaxin Steel,,,,,,")
    huaxin.owner = teammate  # reassigned after the preview
    huaxin.save()
    with pytest.raises(ImportRefused, match="No row is valid"):
        imports.import_batch_confirm(batch=batch, by=rep, all_or_nothing=False)
    assert not Opportunity.objects.exists()


def test_only_the_uploader_can_confirm_or_cancel_a_batch(rep, admin_user, pipeline, huaxin):
    batch = batch_of(rep, OPPORTUNITIES, "A,Huaxin Steel,,,,,,")
    with pytest.raises(ImportFinished):
        imports.import_batch_confirm(batch=batch, by=admin_user, all_or_nothing=False)
    with pytest.raises(ImportFinished):
        imports.import_batch_cancel(batch=batch, by=admin_user)
    assert not Opportunity.objects.exists()


def test_import_is_audited_with_kind_and_counts(rep, teammate, pipeline, huaxin):
    batch = batch_of(rep, OPPORTUNITIES, "A,Huaxin Steel,,,,,,", "B,Nowhere,,,,,,")
    imports.import_batch_confirm(batch=batch, by=rep, all_or_nothing=False)
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


def test_error_report_lists_problem_rows_with_their_original_cells(rep, pipeline, huaxin):
    batch = batch_of(rep, OPPORTUNITIES, "A,Huaxin Steel,,,,,,", "=cmd,Nowhere,,,,,,")
    header, rows = imports.error_report(batch=batch, user=rep)
    assert header[:3] == ["Row", "Problems", "name"]
    assert rows == [
        ["3", "There is no customer named “Nowhere” that you can see.", "=cmd", "Nowhere", "", "", "", "", "", ""]
    ]
    imports.import_batch_confirm(batch=batch, by=rep, all_or_nothing=False)
    assert imports.error_report(batch=batch, user=rep)[1] == rows  # after the import: the reasons found then


def test_a_second_user_sees_no_hint_of_customers_beyond_their_view(rep, other_rep, pipeline):
    hidden = UserFactory(username="secret-owner")
    AccountFactory(owner=hidden, name="Hidden Co")
    [check] = check_opportunities(rep, "A,Hidden Co,secret-owner,,,,,")
    assert "secret-owner” is not someone you can assign to" in errors(check)
    assert "There is no customer named “Hidden Co” that you can see." in check.errors

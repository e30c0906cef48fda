"""Reading an import file: encodings, headers, rows, limits met while reading, NUL bytes, unclosed quotes."""

import csv
from datetime import date
from decimal import Decimal

import pytest

from funnel.models import ImportBatch
from funnel.transfer import import_reading
from funnel.transfer.import_reading import (
    MAX_LINES,
    MAX_ROWS,
    ImportRefused,
    decode_csv,
    parse_amount,
    parse_csv,
    parse_date,
)

CUSTOMERS, OPPORTUNITIES = ImportBatch.Kind.CUSTOMERS, ImportBatch.Kind.OPPORTUNITIES
OPPORTUNITY_HEADER = "name,customer,owner,stage,amount,expected_close_date,source,next_step\n"


def test_decoding_accepts_utf8_with_and_without_bom_and_gbk():
    text = "名称,城市\n华信钢铁,上海\n"
    assert decode_csv(text.encode("utf-8")) == text
    assert decode_csv(b"\xef\xbb\xbf" + text.encode("utf-8")) == text
    assert decode_csv(text.encode("gbk")) == text
    assert decode_csv(text.encode("gb18030")) == text


def test_decoding_refuses_bytes_that_are_no_known_text():
    with pytest.raises(ImportRefused, match="UTF-8"):
        decode_csv(b"name\n\xff\xff\xff\n")


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
    english = parse_csv(OPPORTUNITY_HEADER + "A,B,r1,Qualified,1,2025-01-01,Web,Call\n", OPPORTUNITIES)
    assert chinese.rows[0].values == english.rows[0].values


def test_headers_are_matched_ignoring_case_spaces_and_hyphens():
    parsed = parse_csv("Name,Customer, Expected close date ,NEXT-STEP\nA,B,2025-01-01,x\n", OPPORTUNITIES)
    assert parsed.fields == ["name", "customer", "expected_close_date", "next_step"]


def test_template_header_is_accepted_in_both_languages():
    for kind in (CUSTOMERS, OPPORTUNITIES):
        for chinese in (False, True):
            header = ",".join(import_reading.template_header(kind, chinese=chinese))
            parsed = parse_csv(f"{header}\n{',' * (header.count(','))}x\n", kind)
            assert parsed.fields == [column.field for column in import_reading.COLUMNS[kind]]


def test_unknown_column_is_refused_naming_it():
    with pytest.raises(ImportRefused, match="Unknown columns: colour"):
        parse_csv("name,colour\nA,red\n", CUSTOMERS)


def test_missing_required_column_is_refused():
    with pytest.raises(ImportRefused, match="The “Customer” column is missing"):
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


def test_5000_rows_are_accepted_and_5001_refused():
    assert len(parse_csv("name\n" + "A\n" * MAX_ROWS, CUSTOMERS).rows) == MAX_ROWS
    with pytest.raises(ImportRefused, match="more than 5000 rows; at most 5000"):
        parse_csv("name\n" + "A\n" * (MAX_ROWS + 1), CUSTOMERS)


@pytest.fixture
def rows_read(monkeypatch) -> list:
    """Counts the records csv.reader hands over while a file is read."""
    read = []
    reader = csv.reader

    class Counting:
        def __init__(self, *args, **kwargs):
            self.reader = reader(*args, **kwargs)

        def __iter__(self):
            return self

        def __next__(self):
            read.append(next(self.reader))
            return read[-1]

        @property
        def line_num(self):
            return self.reader.line_num

    monkeypatch.setattr(import_reading.csv, "reader", Counting)
    return read


def test_reading_stops_at_the_row_limit_instead_of_reading_the_whole_file(rows_read):
    """Issue 11.1: a 5 MB file of millions of tiny rows was read whole (1.15 GB) before the cap was checked."""
    with pytest.raises(ImportRefused, match="more than 5000 rows"):
        parse_csv("name\n" + "x\n" * 200_000, CUSTOMERS)
    assert len(rows_read) == 1 + MAX_ROWS + 1  # the header, the rows allowed, and the one too many


def test_reading_stops_at_the_line_limit_for_a_file_of_blank_lines(rows_read):
    with pytest.raises(ImportRefused, match=f"more than {MAX_LINES} lines"):
        parse_csv("name\n" + "\n" * 1_000_000, CUSTOMERS)
    assert len(rows_read) == MAX_LINES + 1  # the header and the lines allowed, then the one too many


def test_a_row_longer_than_the_limit_is_refused_before_it_is_read_whole():
    with pytest.raises(ImportRefused, match="The row that starts on line 3 is longer than 131072 characters"):
        parse_csv("name,notes\nA,x\nB," + "y" * 300_000 + "\n", CUSTOMERS)


def test_a_nul_byte_is_kept_visible_and_marks_its_row():
    """Issue 11.3: PostgreSQL stores no NUL; the file is kept with a visible sign in its place."""
    text = decode_csv(b"name,notes\nA\x00B,x\nC,y\n")
    assert "\x00" not in text
    parsed = parse_csv(text, CUSTOMERS)
    assert parsed.rows[0].values["name"] == "A␀B" and parsed.rows[0].has_nul
    assert not parsed.rows[1].has_nul


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('name,notes\nA,"open\nB,x\nC,y\n', 2),  # the rest of the file would become one cell
        ('name,notes\nA,x\nB,"fine ""quoted""\nacross lines",z\nC,"unclosed\nD,w\n', 5),
        ('name,notes\r\nA,"x""\r\n"\r\nB,"\r\n', 4),
        ('name,notes\nA,"' + "y" * 200_000 + "\n", 2),  # long enough to reach the row limit first
    ],
)
def test_an_unclosed_quote_is_refused_naming_the_line_it_opens_on(text, line):
    """Issue 11.4: the rest of the file was swallowed into one cell and reached the preview."""
    with pytest.raises(ImportRefused, match=f"The quote that opens a cell on line {line} is never closed"):
        parse_csv(text, CUSTOMERS)


def test_text_after_a_closing_quote_is_refused_naming_the_line():
    with pytest.raises(ImportRefused, match="Line 3 is not valid CSV"):
        parse_csv('name,notes\nA,x\nB,"quoted"tail\n', CUSTOMERS)


def test_quotes_inside_an_unquoted_cell_are_kept_as_text():
    parsed = parse_csv('name,notes\n5" pipe,x\n', CUSTOMERS)
    assert parsed.rows[0].values["name"] == '5" pipe'


@pytest.mark.parametrize(
    ("text", "amount"),
    [("1,200,000", "1200000"), ("1200000.00", "1200000"), ("¥1,200,000.50", "1200000.50"), ("0", "0")],
)
def test_amounts_accept_thousands_separators_and_decimals(text, amount):
    assert parse_amount(text) == Decimal(amount)


@pytest.mark.parametrize("text", ["-5", "abc", "1,20,000", "1.234", "1e5", "12,00", "1000000000000", "١٢"])
def test_amounts_refuse_negatives_and_malformed_numbers(text):
    with pytest.raises(ValueError):
        parse_amount(text)


def test_dates_accept_dashes_and_slashes():
    assert parse_date("2025-03-05") == parse_date("2025/3/5") == date(2025, 3, 5)


@pytest.mark.parametrize(
    "text", ["05/03/2025", "2025-02-30", "2025.03.05", "next week", "2025-13-01", "0001-01-01", "9999-12-31"]
)
def test_dates_refuse_other_formats_impossible_days_and_far_years(text):
    with pytest.raises(ValueError):
        parse_date(text)

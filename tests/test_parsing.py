"""The one reader per kind of outside value: odd input is None, never an exception."""

import base64
from datetime import date

import pytest

from config.parsing import has_nul, parse_cursor, parse_date, parse_id, parse_ids


@pytest.mark.parametrize("value", ["1", "42", " 7 ", 9, str(2**63 - 1)])
def test_ascii_ids_are_read(value):
    assert parse_id(value) == int(str(value).strip())


@pytest.mark.parametrize(
    "value",
    [None, "", " ", "0", "-1", "+3", "1.0", "1e3", "abc", "²", "١٢", "１２", "12\x00", str(2**63), "9" * 40, "1 2"],
)
def test_anything_else_is_no_id(value):
    assert parse_id(value) is None


def test_a_list_of_ids_is_read_whole_or_not_at_all():
    assert parse_ids(["3", "4"]) == [3, 4]
    assert parse_ids(["3", "²"]) is None
    assert parse_ids([]) == []


@pytest.mark.parametrize("value", ["2026-12-03", "1900-01-01", "2999-12-31"])
def test_iso_dates_in_range_are_read(value):
    assert parse_date(value) == date.fromisoformat(value)


@pytest.mark.parametrize(
    "value", [None, "", "0001-01-01", "9999-12-31", "1899-12-31", "3000-01-01", "2026-02-30", "2026-1-3",
              "２０２６-01-01", "2026-01-01\x00", "20261203"],
)  # fmt: skip
def test_other_dates_are_none(value):
    assert parse_date(value) is None


def test_nul_is_found():
    assert has_nul("a\x00b")
    assert not has_nul("ab")


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    ("text", "expected"),
    [('["Steel", 7]', ("Steel", 7)), ("[12.5, 3]", (12.5, 3)), ('["2026-12-03T08:00:00+00:00", 9]',
     ("2026-12-03T08:00:00+00:00", 9)), ("[null, 1]", (None, 1))],
)  # fmt: skip
def test_a_cursor_is_read_as_its_value_and_id(text, expected):
    assert parse_cursor(_cursor(text)) == expected


@pytest.mark.parametrize(
    "text",
    ["[1e400, 1]", "[NaN, 1]", "[-Infinity, 1]", "[1, 1e400]", "[1, 1.0]", "[1, true]", "[1, 0]", "[1, -3]",
     f"[1, {2**64}]", f"[{10**30}, 1]", '["a\\u0000b", 1]', "[[1], 1]", '[{"a": 1}, 1]', "[1, 2, 3]", "[1]",
     '{"a": 1}', "not json", '["x", "1"]'],
)  # fmt: skip
def test_a_tampered_cursor_is_none(text):
    assert parse_cursor(_cursor(text)) is None


@pytest.mark.parametrize("value", [None, "", "%%%", "bm90IGpzb24=", "Wy" * 600, "WyJ4IiwgMV0=\x00", "Ｗｙ"])
def test_what_is_no_base64_cursor_is_none(value):
    assert parse_cursor(value) is None

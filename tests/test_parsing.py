"""The one reader per kind of outside value: odd input is None, never an exception."""

from datetime import date

import pytest

from config.parsing import has_nul, parse_date, parse_id, parse_ids


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

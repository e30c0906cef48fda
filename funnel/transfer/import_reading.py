"""Reading an uploaded CSV file for import: its size, its encoding, its columns and its rows, refusing a
file that cannot be imported as a whole. Reads only: no database, no transaction.

Every limit is met while reading, so a hostile file costs no more than an honest large one: an upload over
MAX_BYTES is refused before it is read, the rows stop at MAX_ROWS (blank lines at MAX_LINES), and one row
stops at MAX_ROW_CHARS, so a quote left open cannot carry the rest of the file into one cell.
"""

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.files.uploadedfile import UploadedFile
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from config.parsing import EARLIEST_DATE, LATEST_DATE
from config.wording import join_list

from ..models import ImportBatch

MAX_ROWS = 5_000
MAX_LINES = 10 * MAX_ROWS  # records read, blank ones included
MAX_BYTES = 5 * 1024 * 1024
MAX_ROW_CHARS = 128 * 1024  # also Python's csv field limit, which is thus never reached
ENCODINGS = ("utf-8-sig", "gb18030")  # Chinese Excel saves "CSV" as GBK, a subset of GB18030
# PostgreSQL stores no NUL in text: the file is kept with each NUL shown as this sign, and the rows
# holding one are refused, while the rest of the file can still be previewed and imported.
NUL_SIGN = "\u2400"
Kind = ImportBatch.Kind


class ImportRefused(Exception):
    """A file or an import that is refused as a whole; str(error) is the message for the user."""


class ImportFinished(ImportRefused):
    """The batch was already imported or cancelled (a second click, or the back button)."""


# --- columns -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    field: str  # also its English header
    label: Promise  # its header in the reader's language, as the Chinese template and every message name it
    aliases: tuple[str, ...] = ()  # other spellings accepted, such as an earlier template's Chinese header

    @property
    def chinese(self) -> str:
        """The header of the Chinese template: the label as the catalogue translates it."""
        with translation.override("zh-hans"):
            return str(self.label)


CUSTOMER_COLUMNS = [
    Column("name", gettext_lazy("Name"), ("客户名称", "customer_name")),
    Column("owner", gettext_lazy("Owner")),
    Column("industry", gettext_lazy("Industry")),
    Column("city", gettext_lazy("City")),
    Column("address", gettext_lazy("Address")),
    Column("phone", gettext_lazy("Phone")),
    Column("website", gettext_lazy("Website"), ("网站",)),
    Column("notes", gettext_lazy("Notes")),
    # Optional: by name, among the importer's territories; left out or blank, the creator's (else the owner's).
    Column("territory", gettext_lazy("Territory"), ("销售区域",)),
]
OPPORTUNITY_COLUMNS = [
    Column("name", gettext_lazy("Name"), ("商机名称", "opportunity")),
    Column("customer", gettext_lazy("Customer"), ("客户名称",)),
    Column("owner", gettext_lazy("Owner")),
    Column("stage", gettext_lazy("Stage")),
    Column("amount", gettext_lazy("Amount")),
    Column("expected_close_date", gettext_lazy("Expected close date")),
    Column("source", gettext_lazy("Source"), ("来源",)),
    Column("campaign", gettext_lazy("Campaign"), ("活动",)),
    Column("next_step", gettext_lazy("Next step")),
    Column("next_step_date", gettext_lazy("Next step date")),
    Column("description", gettext_lazy("Description"), ("描述",)),
    # Only for won and lost deals, which only an admin imports (a migration of existing records).
    Column("closed_date", gettext_lazy("Closed date"), ("成交日期",)),
    Column("lost_reason", gettext_lazy("Lost reason"), ("丢单原因",)),
]
COLUMNS = {Kind.CUSTOMERS: CUSTOMER_COLUMNS, Kind.OPPORTUNITIES: OPPORTUNITY_COLUMNS}
REQUIRED_COLUMNS = {Kind.CUSTOMERS: ["name"], Kind.OPPORTUNITIES: ["name", "customer"]}


def _header_key(text: str) -> str:
    """ "Expected close date", "expected-close_date " and "EXPECTED CLOSE DATE*" are one header."""
    return "_".join(text.replace("\ufeff", "").strip().rstrip("*").casefold().replace("-", " ").split())


def header_aliases(kind: str) -> dict[str, str]:
    """Every accepted spelling of a header (normalised) → the field it names."""
    aliases = {}
    for column in COLUMNS[kind]:
        for spelling in (column.field, column.chinese, str(column.label), *column.aliases):
            aliases[_header_key(spelling)] = column.field
    return aliases


def template_header(kind: str, *, chinese: bool = False) -> list[str]:
    return [column.chinese if chinese else column.field for column in COLUMNS[kind]]


def column_label(kind: str, field: str) -> str:
    """How a message names a column: its label in the reader's language ("Name" / "名称"), not its key."""
    return next(str(column.label) for column in COLUMNS[kind] if column.field == field)


# --- the upload ----------------------------------------------------------------------------------
def too_large_message(size: int) -> str:
    return _("This file is %(size).1f MB; the limit is %(max)d MB. Split it into smaller files.") % {
        "size": size / 2**20,
        "max": MAX_BYTES // 2**20,
    }


def read_upload(upload: UploadedFile) -> str:
    """The text of an uploaded file, read no further than MAX_BYTES."""
    if upload.size is not None and upload.size > MAX_BYTES:
        raise ImportRefused(too_large_message(upload.size))
    raw = upload.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise ImportRefused(too_large_message(len(raw)))
    return decode_csv(raw)


def decode_csv(raw: bytes) -> str:
    """The text of an uploaded file: UTF-8 (with or without BOM), else GB18030/GBK; NUL shown as NUL_SIGN."""
    for encoding in ENCODINGS:
        try:
            return raw.decode(encoding).removeprefix("\ufeff").replace("\x00", NUL_SIGN)
        except UnicodeDecodeError:
            continue
    raise ImportRefused(_("The file is neither UTF-8 nor GBK text. In Excel, save it as “CSV UTF-8” and try again."))


# --- rows ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    number: int  # as the spreadsheet numbers it: the header is row 1
    cells: list[str]  # as in the file, one per header cell
    values: dict[str, str]  # stripped, by field
    stray: bool = False  # a value under no header

    @property
    def has_nul(self) -> bool:
        return any(NUL_SIGN in cell for cell in self.cells)


@dataclass(frozen=True)
class ParsedFile:
    header: list[str]
    fields: list[str | None]  # per header cell; None for a blank header
    rows: list[Row]


def _map_header(header: list[str], kind: str) -> list[str | None]:
    aliases = header_aliases(kind)
    fields = [aliases.get(_header_key(cell)) if cell.strip() else None for cell in header]
    unknown = [cell.strip() for cell, name in zip(header, fields, strict=True) if cell.strip() and name is None]
    if unknown:
        raise ImportRefused(
            _("Unknown columns: %(unknown)s. The accepted columns are: %(accepted)s.")
            % {"unknown": join_list(unknown[:20]), "accepted": join_list(column.label for column in COLUMNS[kind])}
        )
    for name, count in Counter(name for name in fields if name).items():
        if count > 1:
            raise ImportRefused(
                _("The column “%(column)s” appears more than once.") % {"column": column_label(kind, name)}
            )
    missing = [name for name in REQUIRED_COLUMNS[kind] if name not in fields]
    if missing:
        raise ImportRefused(
            _("The “%(column)s” column is missing; the first row must name the columns (see the template).")
            % {"column": column_label(kind, missing[0])}
        )
    return fields


def _row(number: int, cells: list[str], fields: list[str | None]) -> Row:
    padded = (cells + [""] * len(fields))[: len(fields)]
    values = {name: cell.strip() for name, cell in zip(fields, padded, strict=True) if name}
    unnamed = [cell for name, cell in zip(fields, padded, strict=True) if name is None] + cells[len(fields) :]
    return Row(number=number, cells=padded, values=values, stray=any(cell.strip() for cell in unnamed))


class _RowTooLong(Exception):
    pass


class _Lines:
    """The file's lines for csv.reader, which asks for one at a time; refuses a row past MAX_ROW_CHARS."""

    def __init__(self, text: str):
        self.lines = io.StringIO(text, newline="")
        self.row_chars = 0
        self.number = 0  # of the last line read, even one refused

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = next(self.lines)
        self.number += 1
        self.row_chars += len(line)
        if self.row_chars > MAX_ROW_CHARS:
            raise _RowTooLong
        return line


def open_quote_line(text: str, first: int, last: int) -> int | None:
    """The line on which a quoted cell opened and was still open at line `last` (a row began on `first`)."""
    opened, in_quotes, field_start = None, False, True
    for number, line in enumerate(io.StringIO(text, newline=""), start=1):
        if number < first:
            continue
        if number > last:
            break
        pending_quote = False  # a quote inside quotes: closing, or the first of an escaped pair
        for char in line:
            if pending_quote:
                pending_quote = False
                if char == '"':  # an escaped quote: still inside
                    continue
                in_quotes = False
            if in_quotes:
                pending_quote = char == '"'
            elif char == '"' and field_start:
                in_quotes, opened = True, number
            field_start = not in_quotes and char in ",\r\n"
        if pending_quote:
            in_quotes = False
    return opened if in_quotes else None


def _refuse_unreadable(text: str, first: int, last: int, error: Exception) -> ImportRefused:
    line = open_quote_line(text, first, last)
    if line is not None:
        return ImportRefused(
            _(
                "The quote that opens a cell on line %(line)d is never closed, so the rest of the file would be "
                "read as one cell. Close it (or remove it) and upload again."
            )
            % {"line": line}
        )
    if isinstance(error, _RowTooLong):
        return ImportRefused(
            _("The row that starts on line %(line)d is longer than %(max)d characters.")
            % {"line": first, "max": MAX_ROW_CHARS}
        )
    return ImportRefused(_("Line %(line)d is not valid CSV (%(error)s).") % {"line": last, "error": error})


def parse_csv(text: str, kind: str) -> ParsedFile:
    """The header and the non-blank rows of a CSV file, read only as far as the limits allow; refuses a file
    that cannot be imported as a whole."""
    lines = _Lines(text)
    reader = csv.reader(lines, strict=True)
    rows: list[Row] = []
    first = 1  # the line the row being read starts on
    try:
        header = next(reader, [])
        if not any(cell.strip() for cell in header):
            raise ImportRefused(_("The file is empty. The first row must name the columns."))
        fields = _map_header(header, kind)
        lines.row_chars, first = 0, reader.line_num + 1
        for number, cells in enumerate(reader, start=2):
            if number > MAX_LINES:
                raise ImportRefused(
                    _("The file has more than %(max)d lines. Remove the blank ones or split it.") % {"max": MAX_LINES}
                )
            lines.row_chars, first = 0, reader.line_num + 1
            if not any(map(str.strip, cells)):
                continue
            if len(rows) == MAX_ROWS:
                raise ImportRefused(
                    _("The file has more than %(max)d rows; at most %(max)d can be imported at once. Split it into "
                    "smaller files.") % {"max": MAX_ROWS}
                )  # fmt: skip
            rows.append(_row(number, cells, fields))
    except (csv.Error, _RowTooLong) as error:
        raise _refuse_unreadable(text, first, lines.number, error) from error
    if not rows:
        raise ImportRefused(_("The file has no rows under its header."))
    return ParsedFile(header=header, fields=fields, rows=rows)


# --- values --------------------------------------------------------------------------------------
AMOUNT = re.compile(r"^(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$", re.ASCII)
DATE = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})$", re.ASCII)


def parse_amount(text: str) -> Decimal:
    """ "1,200,000", "1200000.00" and "¥1,200,000" → Decimal; ValueError for anything else."""
    plain = text.strip().lstrip("¥￥").strip()
    if not AMOUNT.match(plain):
        raise ValueError(text)
    try:
        amount = Decimal(plain.replace(",", ""))
    except InvalidOperation as error:
        raise ValueError(text) from error
    if amount != amount.quantize(Decimal("0.01")) or amount >= Decimal(10) ** 12:
        raise ValueError(text)
    return amount


def parse_date(text: str) -> date:
    """YYYY-MM-DD or YYYY/MM/DD (Chinese Excel writes 2025/3/5) within the app's dates; ValueError otherwise."""
    match = DATE.match(text.strip())
    if not match:
        raise ValueError(text)
    day = date(*map(int, match.groups()))
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValueError(text)
    return day

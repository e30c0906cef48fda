"""CSV import of customers and opportunities: upload → preview (nothing written) → confirm, once.

Rows are checked the way the screens check them: only customers the user can see, only owners the
user may assign to, the stage's gate. Opportunities are created through services.opportunity_create,
so each gets its first StageChange. A batch imports every valid row and reports the others, or in
all-or-nothing mode imports nothing unless every row is valid: never a silent partial import or cap.
"""

import csv
import io
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower, Trim
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from reps.models import AuditAction, User
from reps.services import audit_record

from . import services
from .filters import owner_choices
from .models import Account, ImportBatch, Opportunity, Pipeline, Source, Stage, StageKind

MAX_ROWS = 5_000
MAX_BYTES = 5 * 1024 * 1024
ENCODINGS = ("utf-8-sig", "gb18030")  # Chinese Excel saves "CSV" as GBK, a subset of GB18030
Kind = ImportBatch.Kind
Status = ImportBatch.Status


class ImportRefused(Exception):
    """A file or an import that is refused as a whole; str(error) is the message for the user."""


class ImportFinished(ImportRefused):
    """The batch was already imported or cancelled (a second click, or the back button)."""


# --- columns -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    field: str  # also its English header
    label: Promise
    chinese: str  # the Chinese header, as the Chinese template writes it
    aliases: tuple[str, ...] = ()


CUSTOMER_COLUMNS = [
    Column("name", gettext_lazy("Name"), "名称", ("客户名称", "customer_name")),
    Column("owner", gettext_lazy("Owner"), "负责人"),
    Column("industry", gettext_lazy("Industry"), "行业"),
    Column("city", gettext_lazy("City"), "城市"),
    Column("address", gettext_lazy("Address"), "地址"),
    Column("phone", gettext_lazy("Phone"), "电话"),
    Column("website", gettext_lazy("Website"), "网站"),
    Column("notes", gettext_lazy("Notes"), "备注"),
]
OPPORTUNITY_COLUMNS = [
    Column("name", gettext_lazy("Name"), "名称", ("商机名称", "opportunity")),
    Column("customer", gettext_lazy("Customer"), "客户", ("客户名称",)),
    Column("owner", gettext_lazy("Owner"), "负责人"),
    Column("stage", gettext_lazy("Stage"), "阶段"),
    Column("amount", gettext_lazy("Amount"), "金额"),
    Column("expected_close_date", gettext_lazy("Expected close date"), "预计成交日期"),
    Column("source", gettext_lazy("Source"), "商机来源", ("来源",)),
    Column("next_step", gettext_lazy("Next step"), "下一步"),
    Column("next_step_date", gettext_lazy("Next step date"), "下一步日期"),
    Column("description", gettext_lazy("Description"), "描述", ("说明",)),
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


# --- parsing -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    number: int  # as the spreadsheet numbers it: the header is row 1
    cells: list[str]  # as in the file, one per header cell
    values: dict[str, str]  # stripped, by field
    stray: bool = False  # a value under no header


@dataclass(frozen=True)
class ParsedFile:
    header: list[str]
    fields: list[str | None]  # per header cell; None for a blank header
    rows: list[Row]


def decode_csv(raw: bytes) -> str:
    """The text of an uploaded file: UTF-8 (with or without BOM), else GB18030/GBK."""
    for encoding in ENCODINGS:
        try:
            return raw.decode(encoding).removeprefix("\ufeff")
        except UnicodeDecodeError:
            continue
    raise ImportRefused(_("The file is neither UTF-8 nor GBK text. In Excel, save it as “CSV UTF-8” and try again."))


def _map_header(header: list[str], kind: str) -> list[str | None]:
    aliases = header_aliases(kind)
    fields = [aliases.get(_header_key(cell)) if cell.strip() else None for cell in header]
    unknown = [cell.strip() for cell, name in zip(header, fields, strict=True) if cell.strip() and name is None]
    if unknown:
        raise ImportRefused(
            _("Unknown columns: %(unknown)s. The accepted columns are: %(accepted)s.")
            % {"unknown": ", ".join(unknown), "accepted": ", ".join(template_header(kind))}
        )
    for name, count in Counter(name for name in fields if name).items():
        if count > 1:
            raise ImportRefused(_("The column “%(column)s” appears more than once.") % {"column": name})
    missing = [name for name in REQUIRED_COLUMNS[kind] if name not in fields]
    if missing:
        raise ImportRefused(
            _("The “%(column)s” column is missing; the first row must name the columns (see the template).")
            % {"column": missing[0]}
        )
    return fields


def _row(number: int, cells: list[str], fields: list[str | None]) -> Row:
    padded = (cells + [""] * len(fields))[: len(fields)]
    values = {name: cell.strip() for name, cell in zip(fields, padded, strict=True) if name}
    unnamed = [cell for name, cell in zip(fields, padded, strict=True) if name is None] + cells[len(fields) :]
    return Row(number=number, cells=padded, values=values, stray=any(cell.strip() for cell in unnamed))


def parse_csv(text: str, kind: str) -> ParsedFile:
    """The header and the non-blank rows of a CSV file; refuses a file that cannot be imported as a whole."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, [])
        if not any(cell.strip() for cell in header):
            raise ImportRefused(_("The file is empty. The first row must name the columns."))
        fields = _map_header(header, kind)
        rows = [
            _row(number, cells, fields) for number, cells in enumerate(reader, start=2) if any(map(str.strip, cells))
        ]
    except csv.Error as error:
        raise ImportRefused(
            _("Row %(row)d is not valid CSV (%(error)s).") % {"row": reader.line_num, "error": error}
        ) from error
    if not rows:
        raise ImportRefused(_("The file has no rows under its header."))
    if len(rows) > MAX_ROWS:
        raise ImportRefused(
            _("The file has %(count)d rows; at most %(max)d can be imported at once. Split it into smaller files.")
            % {"count": len(rows), "max": MAX_ROWS}
        )
    return ParsedFile(header=header, fields=fields, rows=rows)


# --- checking rows (reads only) -----------------------------------------------------------------
@dataclass
class RowCheck:
    row: Row
    errors: list[str] = field(default_factory=list)
    data: dict = field(default_factory=dict)  # the values for the service, when valid

    @property
    def valid(self) -> bool:
        return not self.errors


@dataclass
class Preview:
    parsed: ParsedFile
    checks: list[RowCheck]

    @property
    def invalid(self) -> list[RowCheck]:
        return [check for check in self.checks if not check.valid]

    @property
    def valid_count(self) -> int:
        return len(self.checks) - len(self.invalid)


def _quoted(value: str) -> str:
    return Truncator(value).chars(60)


def _name_key(name: str) -> str:
    return " ".join(name.split()).lower()


def _in_chunks(values: Iterable[str], size: int = 500) -> Iterator[list[str]]:
    values = sorted(set(values))
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _visible_accounts(user: User, names: Iterable[str]) -> dict[str, list[Account]]:
    """Customers the user can see, by name as _name_key spells it."""
    found: dict[str, list[Account]] = {}
    visible = Account.objects.visible_to(user).annotate(plain_name=Lower(Trim("name")))
    for chunk in _in_chunks(name for name in names if name):
        # SQL LOWER() folds ASCII only, so the names as written are matched too.
        keys = {_name_key(name) for name in chunk}
        for account in visible.filter(Q(plain_name__in=keys) | Q(name__in=chunk)):
            if _name_key(account.name) in keys:
                found.setdefault(_name_key(account.name), []).append(account)
    return found


def _assignable(user: User, rows: list[Row]) -> dict[str, User]:
    usernames = [row.values.get("owner", "").lower() for row in rows]
    people: QuerySet[User] = owner_choices(user).annotate(plain_username=Lower("username"))
    found = {}
    for chunk in _in_chunks(name for name in usernames if name):
        found.update({person.username.lower(): person for person in people.filter(plain_username__in=chunk)})
    return found


def _owner(check: RowCheck, user: User, assignable: dict[str, User]) -> None:
    username = check.row.values.get("owner", "")
    if not username:
        check.data["owner"] = user
    elif username.lower() in assignable:
        check.data["owner"] = assignable[username.lower()]
    else:
        check.errors.append(
            _("Owner: “%(username)s” is not someone you can assign to.") % {"username": _quoted(username)}
        )


def _text(check: RowCheck, name: str, model: type, label: Promise, *, required: bool = False) -> str:
    value = check.row.values.get(name, "")
    limit = model._meta.get_field(name).max_length
    if required and not value:
        check.errors.append(_("%(column)s is required.") % {"column": label})
    elif limit and len(value) > limit:
        check.errors.append(_("%(column)s is longer than %(max)d characters.") % {"column": label, "max": limit})
    check.data[name] = value
    return value


PHONE = re.compile(r"^[0-9+()\-\s./#xX]*$")
AMOUNT = re.compile(r"^(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$")
DATE = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})$")


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
    """YYYY-MM-DD or YYYY/MM/DD (Chinese Excel writes 2025/3/5); ValueError for anything else."""
    match = DATE.match(text.strip())
    if not match:
        raise ValueError(text)
    return date(*map(int, match.groups()))


def _website(check: RowCheck) -> None:
    value = check.row.values.get("website", "")
    if value and "://" not in value:
        value = f"https://{value}"
    try:
        if value:
            URLValidator()(value)
    except ValidationError:
        check.errors.append(_("Website: “%(value)s” is not a web address.") % {"value": _quoted(value)})
    if len(value) > 200:
        check.errors.append(_("Website is longer than %(max)d characters.") % {"max": 200})
    check.data["website"] = value


def check_customer_rows(rows: list[Row], *, user: User) -> list[RowCheck]:
    """Each row with its problems: name required and new to the user and to the file, owner, phone, website."""
    existing = _visible_accounts(user, (row.values.get("name", "") for row in rows))
    assignable = _assignable(user, rows)
    first_row_of: dict[str, int] = {}
    checks = []
    for row in rows:
        check = RowCheck(row)
        name = _text(check, "name", Account, _("Name"), required=True)
        key = _name_key(name)
        if key and key in existing:
            check.errors.append(_("You already have a customer named “%(name)s”.") % {"name": _quoted(name)})
        elif key and key in first_row_of:
            check.errors.append(
                _("Row %(row)d of this file already has the name “%(name)s”.")
                % {"row": first_row_of[key], "name": _quoted(name)}
            )
        first_row_of.setdefault(key, row.number)
        _owner(check, user, assignable)
        for column in ("industry", "city", "address", "notes"):
            _text(check, column, Account, Account._meta.get_field(column).verbose_name)
        phone = _text(check, "phone", Account, _("Phone"))
        if not PHONE.match(phone):
            check.errors.append(_("Phone: use digits, spaces and + - ( ) / . # only."))
        _website(check)
        _stray(check)
        checks.append(check)
    return checks


def _stray(check: RowCheck) -> None:
    if check.row.stray:
        check.errors.append(_("This row has values in a column without a header."))


@dataclass
class _OpportunityContext:
    user: User
    pipeline: Pipeline | None
    accounts: dict[str, list[Account]]
    assignable: dict[str, User]
    stages: dict[str, Stage]
    first_stage: Stage | None
    sources: dict[str, Source]


def _opportunity_context(rows: list[Row], *, user: User, pipeline: Pipeline | None) -> _OpportunityContext:
    stages = list(pipeline.stages.order_by("order")) if pipeline else []
    open_stages = [stage for stage in stages if stage.kind == StageKind.OPEN and not stage.is_archived]
    return _OpportunityContext(
        user=user,
        pipeline=pipeline,
        accounts=_visible_accounts(user, (row.values.get("customer", "") for row in rows)),
        assignable=_assignable(user, rows),
        stages={stage.name.casefold(): stage for stage in stages},
        first_stage=open_stages[0] if open_stages else None,
        sources={source.name.casefold(): source for source in Source.objects.filter(is_active=True)},
    )


def _customer(check: RowCheck, context: _OpportunityContext) -> None:
    name = check.row.values.get("customer", "")
    matches = context.accounts.get(_name_key(name), [])
    if not name:
        check.errors.append(_("Customer is required."))
    elif not matches:
        check.errors.append(_("There is no customer named “%(name)s” that you can see.") % {"name": _quoted(name)})
    elif len(matches) > 1:
        check.errors.append(
            _("%(count)d customers you can see are named “%(name)s”; rename one so the file can tell them apart.")
            % {"count": len(matches), "name": _quoted(name)}
        )
    else:
        check.data["account"] = matches[0]


def _stage(check: RowCheck, context: _OpportunityContext) -> Stage | None:
    name = check.row.values.get("stage", "")
    if context.pipeline is None or not context.pipeline.is_active:
        check.errors.append(_("There is no active pipeline to import into."))
        return None
    stage = context.stages.get(name.casefold()) if name else context.first_stage
    if stage is None:
        check.errors.append(
            _("Stage: “%(stage)s” is not a stage of “%(pipeline)s”.")
            % {"stage": _quoted(name), "pipeline": context.pipeline.name}
            if name
            else _("“%(pipeline)s” has no open stage.") % {"pipeline": context.pipeline.name}
        )
    elif stage.kind != StageKind.OPEN or stage.is_archived:
        check.errors.append(
            _("Stage: a new opportunity starts in an open stage, and “%(stage)s” is not one.") % {"stage": stage.name}
        )
        return None
    return stage


def _number_and_dates(check: RowCheck, context: _OpportunityContext) -> None:
    values = check.row.values
    if values.get("amount"):
        try:
            check.data["amount"] = parse_amount(values["amount"])
        except ValueError:
            check.errors.append(
                _("Amount: “%(value)s” is not an amount of money, such as 1200000 or 1,200,000.00.")
                % {"value": _quoted(values["amount"])}
            )
    for name, label in (("expected_close_date", _("Expected close date")), ("next_step_date", _("Next step date"))):
        if values.get(name):
            try:
                check.data[name] = parse_date(values[name])
            except ValueError:
                check.errors.append(
                    _("%(column)s: “%(value)s” is not a date written as YYYY-MM-DD or YYYY/MM/DD.")
                    % {"column": label, "value": _quoted(values[name])}
                )
    source = values.get("source", "")
    if source and source.casefold() not in context.sources:
        check.errors.append(_("Source: “%(value)s” is not one of the active sources.") % {"value": _quoted(source)})
    elif source:
        check.data["source"] = context.sources[source.casefold()]


def _gate(check: RowCheck, stage: Stage, context: _OpportunityContext) -> None:
    fields = {name: check.data[name] for name in services.EDITABLE_FIELDS if name in check.data}
    missing, unchecked = services.stage_gate_problems(Opportunity(pipeline=context.pipeline, **fields), stage)
    if missing:
        check.errors.append(
            _("Before entering “%(stage)s”, fill in %(fields)s.") % {"stage": stage.name, "fields": ", ".join(missing)}
        )
    if unchecked:
        check.errors.append(
            _("“%(stage)s” has a checklist, which cannot be confirmed in a file. Import into an earlier stage.")
            % {"stage": stage.name}
        )


def check_opportunity_rows(rows: list[Row], *, user: User, pipeline: Pipeline | None) -> list[RowCheck]:
    """Each row with its problems: customer the user can see, owner, open stage and its gate, values."""
    context = _opportunity_context(rows, user=user, pipeline=pipeline)
    checks = []
    for row in rows:
        check = RowCheck(row)
        _text(check, "name", Opportunity, _("Name"), required=True)
        _customer(check, context)
        _owner(check, user, context.assignable)
        stage = _stage(check, context)
        _number_and_dates(check, context)
        _text(check, "next_step", Opportunity, _("Next step"))
        _text(check, "description", Opportunity, _("Description"))
        if stage is not None:
            check.data["stage"] = stage
            _gate(check, stage, context)
        _stray(check)
        checks.append(check)
    return checks


def import_batch_preview(*, batch: ImportBatch, user: User) -> Preview:
    """Every row of the batch with its problems, as an import would find them now. Writes nothing."""
    parsed = parse_csv(batch.text, batch.kind)
    if batch.kind == Kind.CUSTOMERS:
        return Preview(parsed, check_customer_rows(parsed.rows, user=user))
    pipeline = Pipeline.objects.filter(pk=batch.pipeline_id).first()
    return Preview(parsed, check_opportunity_rows(parsed.rows, user=user, pipeline=pipeline))


def default_pipeline() -> Pipeline | None:
    return Pipeline.objects.filter(is_active=True).order_by("-is_default", "name").first()


# --- writes --------------------------------------------------------------------------------------
@transaction.atomic
def import_batch_create(
    *, by: User, kind: str, text: str, filename: str = "", pipeline: Pipeline | None = None
) -> ImportBatch:
    """Stores an uploaded file for its preview; refuses a file that cannot be imported as a whole."""
    if len(text.encode()) > MAX_BYTES:
        raise ImportRefused(
            _("The file is larger than %(max)d MB. Split it into smaller files.") % {"max": MAX_BYTES // 2**20}
        )
    parse_csv(text, kind)
    if kind == Kind.OPPORTUNITIES:
        pipeline = pipeline or default_pipeline()
        if pipeline is None or not pipeline.is_active:
            raise ImportRefused(_("There is no active pipeline to import opportunities into."))
    else:
        pipeline = None
    return ImportBatch.objects.create(
        created_by=by, kind=kind, pipeline=pipeline, filename=filename[:255], text=text, status=Status.PREVIEWED
    )


def _claim(batch: ImportBatch, by: User, status: str, **changes) -> None:
    """Moves a previewed batch on, once: a second click finds it no longer previewed (QUALITY R9)."""
    claimed = ImportBatch.objects.filter(pk=batch.pk, created_by=by, status=Status.PREVIEWED).update(
        status=status, finished_at=timezone.now(), **changes
    )
    if not claimed:
        raise ImportFinished(_("This file has already been imported or cancelled. Nothing more was imported."))


def _create(check: RowCheck, kind: str, by: User) -> None:
    """Writes one checked row inside its own savepoint; raises FunnelError or ValidationError if refused."""
    data = dict(check.data)
    with transaction.atomic():
        if kind == Kind.CUSTOMERS:
            account = Account(**data)
            account.full_clean()
            account.save()
        else:
            owner, stage = data.pop("owner"), data.pop("stage")
            services.opportunity_create(by=by, owner=owner, stage=stage, data=data)


def _create_rows(checks: list[RowCheck], kind: str, by: User) -> list[RowCheck]:
    """Creates the valid rows; returns the invalid ones and those the database refused."""
    skipped = [check for check in checks if not check.valid]
    for check in checks:
        if not check.valid:
            continue
        try:
            _create(check, kind, by)
        except services.FunnelError as error:
            skipped.append(RowCheck(check.row, [str(error)]))
        except ValidationError as error:
            skipped.append(RowCheck(check.row, error.messages))
    return sorted(skipped, key=lambda check: check.row.number)


@transaction.atomic
def import_batch_confirm(*, batch: ImportBatch, by: User, all_or_nothing: bool) -> ImportBatch:
    """Re-checks every row and creates the valid ones in one transaction, or none of them.

    All-or-nothing mode imports nothing if any row fails, and the batch stays open to try again.
    """
    _claim(batch, by, Status.IMPORTED)
    if batch.kind == Kind.OPPORTUNITIES:
        # Lock the stages, so an admin archiving one meanwhile waits for this import (QUALITY R12).
        list(Stage.objects.select_for_update().filter(pipeline=batch.pipeline_id).order_by("pk").values_list("pk"))
    checks = import_batch_preview(batch=batch, user=by).checks
    if not any(check.valid for check in checks):
        raise ImportRefused(_("No row is valid, so nothing was imported."))
    skipped = [check for check in checks if not check.valid]
    if not (all_or_nothing and skipped):
        skipped = _create_rows(checks, batch.kind, by)
    if all_or_nothing and skipped:  # raising here undoes every row written above
        raise ImportRefused(
            _("Nothing was imported: %(count)d of %(total)d rows have problems. Correct them and upload again.")
            % {"count": len(skipped), "total": len(checks)}
        )
    batch.status, batch.finished_at = Status.IMPORTED, timezone.now()
    batch.imported_count, batch.skipped_count = len(checks) - len(skipped), len(skipped)
    batch.report = [{"row": check.row.number, "errors": check.errors} for check in skipped]
    batch.save(update_fields=["status", "finished_at", "imported_count", "skipped_count", "report"])
    audit_record(
        action=AuditAction.IMPORTED,
        actor=by,
        obj=batch,
        detail={"kind": batch.kind, "rows": batch.imported_count, "skipped": batch.skipped_count},
    )
    return batch


@transaction.atomic
def import_batch_cancel(*, batch: ImportBatch, by: User) -> ImportBatch:
    """Drops a previewed batch; its content is erased, since nothing will read it again."""
    _claim(batch, by, Status.CANCELLED, text="")
    batch.refresh_from_db()
    return batch


# --- the error report ----------------------------------------------------------------------------
def error_report(*, batch: ImportBatch, user: User) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the error report: row number, problems, then the row as it was in the file.

    Before the import the rows are checked now; after it, the reasons found at import are reported.
    """
    if batch.status == Status.CANCELLED:
        return [_("Row"), _("Problems")], []
    if batch.status == Status.IMPORTED:
        parsed = parse_csv(batch.text, batch.kind)
        by_number = {row.number: row for row in parsed.rows}
        problems = [(by_number[item["row"]], item["errors"]) for item in batch.report if item["row"] in by_number]
    else:
        preview = import_batch_preview(batch=batch, user=user)
        parsed = preview.parsed
        problems = [(check.row, check.errors) for check in preview.invalid]
    header = [_("Row"), _("Problems"), *parsed.header]
    return header, [[str(row.number), " ".join(errors), *row.cells] for row, errors in problems]

"""The rep's day: plan in the morning, activities during the day, the evening report."""

from datetime import date, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from config.parsing import has_nul, parse_date, parse_id
from config.redirects import safe_next
from funnel.access import get_account_for_user, get_for_user
from funnel.models import Opportunity
from funnel.opportunities.services import Busy, FunnelError, StaleVersion

from . import schedule, services
from .access import get_own_activity_for_edit, get_own_log_for_edit, get_own_plan_item_for_edit
from .forms import ActivityForm, ClearForm, PlanItemForm, PlanMoveForm, ReportForm
from .models import Activity, DailyLog, PlanItem
from .offline import answers
from .offline.services import AlreadyDone, plan_item_clear_once, plan_move_once, sent_before


def _parse_day(value: str) -> date:
    day = parse_date(value)
    if day is None:  # not a date, or one outside the dates the app accepts (config.parsing)
        raise Http404
    return day


# What a plan item or an activity shows, and its plan form offers (deals and contacts named with their customer).
_SHOWN = ("kind", "account", "opportunity__account", "contact__account")


def _with_contents(logs):
    return logs.select_related("rep", "reviewed_by").prefetch_related(
        Prefetch("plan", schedule.plan_in_order(PlanItem.objects.select_related(*_SHOWN))),
        Prefetch("activities", Activity.objects.select_related(*_SHOWN)),
        "amendments__by",
        "comments__author",
    )


def _day_page(request: HttpRequest, day: date, status: int = 200, **forms) -> HttpResponse:
    today = services.local_today(request.user)
    own = DailyLog.objects.visible_to(request.user).filter(rep=request.user, date=day)
    log = _with_contents(own).first()
    if log is None and day >= today:
        services.daily_log_get(rep=request.user, day=day)
        log = _with_contents(own).first()
    if log is not None:
        services.comments_mark_read(log=log, by=request.user)
        if log.rep_id == request.user.pk and not log.is_submitted:
            PlanMoveForm.offer(log.plan.all())
    context = {
        "log": log,
        "day": day,
        "today": today,
        "previous_day": day - timedelta(days=1),
        "next_day": day + timedelta(days=1) if day < today + timedelta(days=1) else None,
        "plan_form": (forms.get("plan_form") or PlanItemForm(user=request.user)).offering(log),
        "report_form": forms.get("report_form") or ReportForm(instance=log),
        "editable": log is not None and not log.is_submitted,
    }
    return render(request, "activity_log/day.html", context, status=status)


@login_required
def today(request: HttpRequest) -> HttpResponse:
    return _day_page(request, services.local_today(request.user))


@login_required
def day(request: HttpRequest, day: str) -> HttpResponse:
    chosen = _parse_day(day)
    if chosen > services.local_today(request.user) + timedelta(days=1):
        raise Http404
    return _day_page(request, chosen)


@login_required
def log_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Any log the user may see (a manager reading a rep's day); one's own opens as one's day."""
    log = get_for_user(request, _with_contents(DailyLog.objects.visible_to(request.user)), pk)
    if log.rep_id == request.user.pk:
        return redirect("log:day", day=log.date.isoformat())
    return render(request, "activity_log/log_detail.html", {"log": log})


@login_required
@require_POST
def plan_add(request: HttpRequest, pk: int) -> HttpResponse:
    log = get_own_log_for_edit(request, pk)
    form = PlanItemForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            services.plan_item_add(rep=request.user, log=log, data=form.cleaned_data)
        except services.LogError as error:
            form.add_error(None, str(error))
        else:
            return redirect(reverse("log:day", args=[log.date.isoformat()]) + "#plan")
    return _day_page(request, log.date, status=422, plan_form=form)


@login_required
@require_POST
def plan_clear(request: HttpRequest, pk: int) -> HttpResponse:
    """Done, or carried over with a reason; sent twice under one key (the outbox's resend), cleared once."""
    item = get_own_plan_item_for_edit(request, pk)
    form = ClearForm(request.POST)
    url = reverse("log:day", args=[item.daily_log.date.isoformat()]) + "#plan"
    reasons = answers.form_reasons(form) if not form.is_valid() else []
    if not reasons:
        done = form.cleaned_data["action"] == "done"
        try:
            plan_item_clear_once(
                item=item,
                by=request.user,
                done=done,
                reason=form.cleaned_data["reason"],
                key=form.cleaned_data["idempotency_key"],
                url=url,
            )
        except AlreadyDone:
            pass
        except services.LogError as error:
            reasons = [str(error)]
    if answers.from_outbox(request):
        return answers.refused(reasons) if reasons else answers.recorded(url)
    for reason in reasons:
        messages.error(request, reason)
    return redirect(url)


@login_required
@require_POST
def plan_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Moves a plan item's deal to another stage from the day page, with the version the page showed; the deal's
    gate and version check are the funnel's. Sent twice under one key (the outbox's resend), moved once."""
    item = get_own_plan_item_for_edit(request, pk)
    url = reverse("log:day", args=[item.daily_log.date.isoformat()]) + "#plan"
    try:
        if sent_before(key=request.POST.get("idempotency_key", ""), by=request.user):
            return answers.recorded(url) if answers.from_outbox(request) else redirect(url)
    except services.LogError as error:
        return answers.refused([str(error)]) if answers.from_outbox(request) else redirect(url)
    form = PlanMoveForm(request.POST, item=item)
    reasons, status = (answers.form_reasons(form), 422) if not form.is_valid() else ([], 200)
    moved = ""
    if not reasons:
        data = form.cleaned_data
        moved = _("“%(name)s” moved to “%(stage)s”.") % {"name": item.opportunity.name, "stage": data["stage"].name}
        try:
            plan_move_once(
                item=item,
                by=request.user,
                stage=data["stage"],
                version=data["version"],
                key=data["idempotency_key"],
                url=url,
            )
        except AlreadyDone:
            pass
        except (Busy, StaleVersion) as error:
            reasons, status = [str(error)], 409
        except (services.LogError, FunnelError) as error:
            reasons, status = [str(error)], 422
    if answers.from_outbox(request):
        if not reasons and answers.sent_now(request):
            messages.success(request, moved)
        return answers.refused(reasons, status=status) if reasons else answers.recorded(url)
    for reason in reasons:
        messages.error(request, reason)
    if not reasons:
        messages.success(request, moved)
    return redirect(url)


@login_required
@require_POST
def submit(request: HttpRequest, pk: int) -> HttpResponse:
    log = get_own_log_for_edit(request, pk)
    form = ReportForm(request.POST, instance=DailyLog(rep=log.rep, date=log.date))
    if form.is_valid():
        try:
            services.daily_log_submit(log=log, by=request.user, **form.cleaned_data)
        except services.LogError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Your day is submitted. Your manager will read it."))
            return redirect("log:day", day=log.date.isoformat())
    return _day_page(request, log.date, status=422, report_form=form)


def _plan_item(request: HttpRequest, value) -> PlanItem | None:
    """The own plan item a visit is logged for; another rep's answers 404 with an audit row, never a blank form."""
    pk = parse_id(value)
    return get_own_plan_item_for_edit(request, pk) if pk else None


def _account_id(request: HttpRequest) -> int | None:
    """The customer a visit form starts with (?account=); one outside the user's view answers 404 with an audit
    row, never a form that silently drops it."""
    pk = parse_id(request.GET.get("account"))
    return get_account_for_user(request, pk).pk if pk else None


@login_required
def activity_new(request: HttpRequest) -> HttpResponse:
    """The 30-second form: a double tap or a resubmission records one activity (its idempotency key). A move
    needs the version of the deal the form showed: without it, or with a stale one, nothing is recorded and
    the page answers 409 with the deal as it is now."""
    if request.method == "POST" and (recorded := _recorded_before(request)) is not None:
        return _recorded(request, recorded)  # a resubmission: answered as the first one was
    item = _plan_item(request, request.POST.get("plan_item") or request.GET.get("plan_item"))
    initial = {"plan_item": item and item.pk, "account": _account_id(request)}
    if item:
        initial.update(account=item.account_id, kind=item.kind_id, opportunity=item.opportunity_id)
        initial.update(contact=item.contact_id)
    form = ActivityForm(request.POST or None, user=request.user, initial=initial)
    current = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            activity = services.activity_record(
                rep=request.user,
                data=data,
                idempotency_key=data["idempotency_key"],
                plan_item=item,
                move_to=data.get("move_to"),
                move_version=data.get("move_version"),
                checklist=data.get("checklist", []),
                amend_reason=data["amend_reason"] or _offline_reason(request),
            )
        except StaleVersion as error:
            current = _show_current(form, error)
        except Busy as error:  # someone is changing the deal right now: nothing recorded, the deal as it is
            form.add_error(None, str(error))
            current = Opportunity.objects.select_related("stage").get(pk=data["opportunity"].pk)
        except (services.LogError, FunnelError) as error:
            form.add_error(None, str(error))
        else:
            return _recorded(request, activity)
    status = 409 if current else 422 if form.is_bound else 200
    if form.is_bound and answers.from_outbox(request):
        return answers.refused(answers.form_reasons(form), status=status)
    context = {"form": form, "plan_item": item, "current": current}
    return render(request, "activity_log/activity_form.html", context, status=status)


def _recorded(request: HttpRequest, activity: Activity) -> HttpResponse:
    """Back to the page the form was opened from (quick add, a customer's page), else the activity's day."""
    url = safe_next(request) or reverse("log:day", args=[activity.daily_log.date.isoformat()])
    if not answers.from_outbox(request) or answers.sent_now(request):
        messages.success(request, _("Activity recorded."))
    return answers.recorded(url) if answers.from_outbox(request) else redirect(url)


def _offline_reason(request: HttpRequest) -> str:
    """A visit logged offline on a day since submitted is added as an amendment, flagged with this reason (the
    rep may give their own); the day's form is refused without a reason as before."""
    if not answers.from_outbox(request):
        return ""
    return _("Logged offline on the phone; sent after the day was submitted.")


def _recorded_before(request: HttpRequest) -> Activity | None:
    """The activity this very form recorded already (its idempotency key): a resubmission after the deal has
    moved would no longer pass the form's checks, yet is one activity, not an error."""
    key = request.POST.get("idempotency_key", "")
    if not key or len(key) > 64 or has_nul(key):  # read before the form: a multipart NUL reaches here
        return None
    return Activity.objects.filter(idempotency_key=key, daily_log__rep=request.user).select_related("daily_log").first()


def _show_current(form: ActivityForm, error: StaleVersion):
    """The conflict on the form, and the deal as it is now: the form then carries that version, so saving
    again moves the deal knowingly."""
    form.add_error(None, str(error))
    current = Opportunity.objects.select_related("stage").get(pk=error.current.pk)
    form.data = form.data.copy()
    form.data.update({"move_version": current.version, "move_opportunity": current.pk})
    return current


@login_required
def activity_move(request: HttpRequest) -> HttpResponse:
    """The visit form's "moved the deal to" part for the deal and stage chosen (`?opportunity=&move_to=`, and
    the visit's next step): that deal's stages, its version, the target's gate. Swapped in while choosing."""
    keys = ("opportunity", "move_to", "next_step", "next_date")
    form = ActivityForm(user=request.user, initial={key: request.GET.get(key, "")[:300] for key in keys})
    return render(request, "activity_log/_move.html", {"form": form})


def _correction_message(changes: dict, *, submitted: bool) -> str:
    if not changes:
        return _("Nothing to correct: the values are the ones already recorded.")
    if submitted:
        return _("Correction recorded as an amendment to the submitted day.")
    return _("Correction saved.")


@login_required
def activity_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Correct an own activity; once the day is submitted this is an amendment with a reason."""
    activity = get_own_activity_for_edit(request, pk)
    form = ActivityForm(request.POST or None, instance=activity, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            changes = services.activity_amend(
                activity=activity, by=request.user, data=form.cleaned_data, reason=form.cleaned_data["amend_reason"]
            )
        except services.LogError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _correction_message(changes, submitted=activity.daily_log.is_submitted))
            return redirect("log:day", day=activity.daily_log.date.isoformat())
    context = {"form": form, "activity": activity, "submitted": activity.daily_log.is_submitted}
    return render(request, "activity_log/activity_form.html", context, status=422 if form.is_bound else 200)

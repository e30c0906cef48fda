"""Load balance pages under /planning/balance/ (the "balance" namespace): the team's reps side by side with
suggestions, the move form (one rep's customers, a receiver), the preview of exactly what would move, and the
move itself. Managers for the teams they manage, admins for any team; a team, giver or customer out of view
is a 404."""

from urllib.parse import urlencode

from django.contrib import messages
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from config.parsing import parse_id
from config.wording import join_list
from reps.access import role_required
from reps.models import Handover, HandoverItem, Role, Team, User

from . import figures
from .selection import ReceiverForm, customers_page, picked_ids
from .services import BalanceError, balance_move, balance_teams, move_preview, team_reps

NOTE_LENGTH = 300


def _team(request: HttpRequest) -> tuple[Team | None, list[Team]]:
    """The teams the user balances and the one in view: ?team= (404 when it is not theirs), else the first."""
    teams = list(balance_teams(request.user))
    chosen = parse_id(request.GET.get("team") or request.POST.get("team"))
    if chosen is None:
        return (teams[0] if teams else None), teams
    team = next((team for team in teams if team.pk == chosen), None)
    if team is None:
        raise Http404
    return team, teams


def _giver(request: HttpRequest, team: Team, reps: list[User]) -> User | None:
    """?from=: a rep of the team in view (404 otherwise); None when nobody is named."""
    pk = parse_id(request.GET.get("from") or request.POST.get("from"))
    if pk is None:
        return None
    giver = next((rep for rep in reps if rep.pk == pk), None)
    if giver is None:
        raise Http404
    return giver


def _params(team: Team, giver: User | None, picks: list[int], to: int | None = None, **more) -> str:
    params = [("team", team.pk)] + ([("from", giver.pk)] if giver else []) + [("pick", pk) for pk in picks]
    params += [("to", to)] if to else []
    return urlencode(params + [(name, value) for name, value in more.items() if value])


def _page(request: HttpRequest, team: Team | None, teams: list[Team], status: int = 200, **extra) -> HttpResponse:
    context = {"team": team, "teams": teams, **extra}
    if team is not None:
        reps = extra.get("reps") or list(team_reps(team))
        loads = figures.rep_loads(reps, timezone.now())
        context |= {"reps": reps, "loads": loads, "suggestions": figures.suggestions(loads),
                    "quiet_days": figures.QUIET_DAYS, "weeks": figures.WEEKS}  # fmt: skip
        giver = extra.get("giver")
        if giver is not None:
            rows, next_cursor = customers_page(giver, request.GET.get("after", ""))
            on_page = {row.pk for row in rows}
            picks = extra.get("picks", [])
            context |= {"customers": rows, "next_cursor": next_cursor, "after": request.GET.get("after", ""),
                        "kept": [pk for pk in picks if pk not in on_page], "picked": set(picks)}  # fmt: skip
    return render(request, "activity_log/balance/page.html", context, status=status)


@role_required(Role.MANAGER, Role.ADMIN)
@require_GET
def balance_page(request: HttpRequest) -> HttpResponse:
    """Per rep of the team: open deals, weighted pipeline, stalled, activities per week, quota and attainment,
    customers without a recent contact; suggestions; with ?from=, that rep's customers to tick and move."""
    team, teams = _team(request)
    if team is None:
        return _page(request, None, teams)
    reps = list(team_reps(team))
    giver = _giver(request, team, reps)
    receiver = None
    if giver is not None:
        data = request.GET if request.GET.get("to") or request.GET.get("to__q") else None
        receiver = ReceiverForm(data, user=request.user, team=team, from_user=giver)
    picks = picked_ids(request.GET)
    return _page(request, team, teams, reps=reps, giver=giver, receiver=receiver, picks=picks)


@role_required(Role.MANAGER, Role.ADMIN)
@require_GET
def balance_preview(request: HttpRequest) -> HttpResponse:
    """Exactly what the move would take (customers, contacts, open deals, open plan items) and the receiver,
    with the button that does it; the move form again, with why, when something is missing."""
    team, teams = _team(request)
    if team is None:
        return redirect("balance:page")
    reps = list(team_reps(team))
    giver = _giver(request, team, reps)
    if giver is None:
        return redirect(f"{reverse('balance:page')}?{_params(team, None, [])}")
    picks = picked_ids(request.GET)
    receiver = ReceiverForm(request.GET, user=request.user, team=team, from_user=giver)
    preview = move_preview(from_user=giver, account_ids=picks) if picks else None
    if not receiver.is_valid() or not preview or not preview.customers:
        if not picks:
            messages.error(request, _("Tick at least one customer to move."))
        elif not preview or not preview.customers:
            messages.error(request, _("None of the ticked customers belong to %(person)s.") % {"person": giver})
        return _page(request, team, teams, status=400, reps=reps, giver=giver, receiver=receiver, picks=picks)
    to = receiver.cleaned_data["to"]
    context = {"team": team, "giver": giver, "to": to, "preview": preview, "summary": what_moves(preview.counts),
               "picks": [customer.account.pk for customer in preview.customers],
               "back": _params(team, giver, picks, to.pk)}  # fmt: skip
    return render(request, "activity_log/balance/preview.html", context)


@role_required(Role.MANAGER, Role.ADMIN)
@require_POST
def balance_move_view(request: HttpRequest) -> HttpResponse:
    """Moves the previewed customers in one transaction (through the handover's mover) and says what moved."""
    team, _teams = _team(request)
    if team is None:
        raise Http404
    giver = _giver(request, team, list(team_reps(team)))
    if giver is None:
        raise Http404
    picks = picked_ids(request.POST)
    to = get_object_or_404(User, pk=parse_id(request.POST.get("to")))
    note = request.POST.get("note", "").replace("\x00", "").strip()[:NOTE_LENGTH]  # PostgreSQL stores no NUL
    try:
        handover = balance_move(team=team, from_user=giver, account_ids=picks, to_user=to, by=request.user, note=note)
    except BalanceError as refused:
        messages.error(request, str(refused))
        return redirect(f"{reverse('balance:page')}?{_params(team, giver, picks)}#move")
    messages.success(request, moved_message(handover, giver, to))
    return redirect(f"{reverse('balance:page')}?{_params(team, None, [])}")


def _parts(counts: dict[str, int]) -> list[str]:
    return [
        ngettext("%(count)d contact", "%(count)d contacts", counts["contacts"]) % {"count": counts["contacts"]},
        ngettext("%(count)d open opportunity", "%(count)d open opportunities", counts["opportunities"])
        % {"count": counts["opportunities"]},
        ngettext("%(count)d open plan item", "%(count)d open plan items", counts["plan_items"])
        % {"count": counts["plan_items"]},
    ]


def _customers(count: int) -> str:
    return ngettext("%(count)d customer", "%(count)d customers", count) % {"count": count}


def what_moves(counts: dict[str, int]) -> str:
    """ "3 customers will move, with 5 contacts, 4 open opportunities, 2 open plan items." """
    return _("%(customers)s will move, with %(what)s.") % {
        "customers": _customers(counts["customers"]),
        "what": join_list(_parts(counts)),
    }


def moved_message(handover: Handover, giver: User, to: User) -> str:
    """ "Moved from Li Fang to Wang Jun: 3 customers, 5 contacts, 4 open opportunities, 2 open plan items." """
    found = dict(
        HandoverItem.objects.filter(handover=handover).values_list("object_type").annotate(n=Count("*")).order_by()
    )
    counts = {"contacts": found.get("funnel.contact", 0), "opportunities": found.get("funnel.opportunity", 0),
              "plan_items": found.get("activity_log.planitem", 0)}  # fmt: skip
    what = join_list([_customers(found.get("funnel.account", 0)), *_parts(counts)])
    return _("Moved from %(from)s to %(to)s: %(what)s.") % {"from": giver, "to": to, "what": what}

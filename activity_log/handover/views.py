"""Handover pages under /log/handover/ (the "log" namespace): the list and start (managers and admins), the
package with a receiver per customer, the record, and the receiver's acknowledgement."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from config.parsing import parse_id
from funnel.customers.book import orphan_owners
from reps.access import role_required
from reps.models import Handover, HandoverReceipt, Role, User

from .forms import HandoverStartForm
from .services import HandoverError, givers, handover_acknowledge, handover_confirm, package, receivers

HANDOVERS_PER_PAGE = 25
NOTE_LENGTH = 300
ORPHANS_SHOWN = 100


def handovers_in_view(user: User):
    """Handovers of the people `user` may see (an admin: all), and those `user` received."""
    mine = Q(receipts__receiver=user)
    return Handover.objects.filter(Q(from_user__in=User.objects.visible_to(user)) | mine).distinct()


@role_required(Role.MANAGER, Role.ADMIN)
def handover_list(request: HttpRequest) -> HttpResponse:
    """Whose book to hand over (a person picker; a choice is sent on to the package) and the handovers so far,
    newest first, with how many receivers have not acknowledged yet."""
    handovers = (
        Handover.objects.filter(from_user__in=givers(request.user))
        .select_related("from_user", "by")
        .annotate(
            receivers=Count("receipts", distinct=True),
            waiting=Count("receipts", filter=Q(receipts__acknowledged_at__isnull=True), distinct=True),
        )
        .order_by("-confirmed_at", "-id")
    )
    started = "from" in request.GET or "from__q" in request.GET
    start = HandoverStartForm(request.GET if started else None, user=request.user)
    if started and start.is_valid():
        return redirect(f"{reverse('log:handover_new')}?from={start.cleaned_data['from'].pk}")
    page = Paginator(handovers, HANDOVERS_PER_PAGE).get_page(request.GET.get("page"))
    context = {"page": page, "start": start}
    return render(request, "activity_log/handover/list.html", context, status=400 if start.errors else 200)


def _giver(request: HttpRequest) -> User | None:
    """The person named by ?from= (or the form's from), within the user's teams (404 otherwise); None when
    nobody is named."""
    pk = parse_id(request.POST.get("from") if request.method == "POST" else request.GET.get("from"))
    return None if pk is None else get_object_or_404(givers(request.user), pk=pk)


@role_required(Role.MANAGER, Role.ADMIN)
def handover_new(request: HttpRequest) -> HttpResponse:
    """The package of one person's book, a receiver per customer (or one for all), and on POST the handover."""
    from_user = _giver(request)
    if from_user is None:  # the list is where a handover is started
        return redirect("log:handover_list")
    customers = package(from_user)
    choices = list(receivers(request.user, from_user).order_by("first_name", "last_name", "username"))
    by_id = {person.pk: person for person in choices}
    chosen, error = {}, ""
    if request.method == "POST":
        everyone = by_id.get(parse_id(request.POST.get("all")))
        for customer in customers:
            picked = parse_id(request.POST.get(f"to-{customer.account.pk}"))
            receiver = by_id.get(picked) if picked else everyone
            if picked and receiver is None:
                error = _("A receiver must be an active rep of your teams.")
            if receiver is not None:
                chosen[customer.account.pk] = receiver
        note = request.POST.get("note", "").replace("\x00", "").strip()[:NOTE_LENGTH]  # PostgreSQL stores no NUL
        if not error:
            try:
                handover = handover_confirm(from_user=from_user, assignments=chosen, by=request.user, note=note)
            except HandoverError as refused:
                error = str(refused)
            else:
                messages.success(request, _("Handover done. The receivers see it on their home page."))
                return redirect("log:handover_detail", handover.pk)
        messages.error(request, error)
    posted = request.POST if request.method == "POST" else {}
    rows = [{"customer": c, "picked": parse_id(posted.get(f"to-{c.account.pk}"))} for c in customers]
    context = {"from_user": from_user, "rows": rows, "receivers": choices, "all": parse_id(posted.get("all")),
               "note": posted.get("note", "")}  # fmt: skip
    return render(request, "activity_log/handover/new.html", context, status=400 if request.method == "POST" else 200)


@role_required(Role.REP, Role.MANAGER, Role.ADMIN)
def handover_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A handover's record: what moved to whom, and who has acknowledged. Those who see the giver (their
    managers, admins, the giver) see all of it; any other receiver sees only what they received."""
    handover = get_object_or_404(handovers_in_view(request.user).select_related("from_user", "by"), pk=pk)
    items = handover.items.select_related("to_user").order_by("to_user_id", "object_type", "id")
    receipts = handover.receipts.select_related("receiver").order_by("receiver__username")
    if not User.objects.visible_to(request.user).filter(pk=handover.from_user_id).exists():
        items, receipts = items.filter(to_user=request.user), receipts.filter(receiver=request.user)  # theirs only
    items, receipts = list(items), list(receipts)
    mine = next((receipt for receipt in receipts if receipt.receiver_id == request.user.pk), None)
    groups: dict[int, dict] = {}
    for item in items:
        group = groups.setdefault(item.to_user_id, {"receiver": item.to_user, "kinds": {}})
        group["kinds"].setdefault(item.object_type, []).append(item)
    ordered = sorted(groups.values(), key=lambda group: group["receiver"].pk != request.user.pk)
    context = {"handover": handover, "groups": ordered, "receipts": receipts, "mine": mine}
    return render(request, "activity_log/handover/detail.html", context)


@role_required(Role.REP, Role.MANAGER, Role.ADMIN)
@require_POST
def handover_ack(request: HttpRequest, pk: int) -> HttpResponse:
    """The receiver acknowledges what they received."""
    handover = get_object_or_404(Handover.objects.filter(receipts__receiver=request.user).distinct(), pk=pk)
    if handover_acknowledge(handover=handover, by=request.user):
        messages.success(request, _("Acknowledged. The handover is now in your book."))
    else:
        messages.info(request, _("You had already acknowledged this handover."))
    return redirect("log:handover_detail", handover.pk)


@role_required(Role.MANAGER, Role.ADMIN)
def orphans(request: HttpRequest) -> HttpResponse:
    """The deactivated people of the user's teams (an admin: anyone) who still own customers or open deals,
    each with a one-click handover of everything to a chosen rep (or the package, to split it)."""
    owners = list(orphan_owners(request.user)[:ORPHANS_SHOWN])
    choices = list(givers(request.user).active().filter(role=Role.REP).order_by("first_name", "last_name", "username"))
    return render(request, "activity_log/handover/orphans.html", {"owners": owners, "receivers": choices})


def home_panel(*, user) -> dict | None:
    """ "Handed over to you": the handovers the user has not acknowledged yet, on their home page."""
    waiting = list(
        HandoverReceipt.objects.unacknowledged()
        .filter(receiver=user)
        .select_related("handover__from_user")
        .annotate(count=Count("handover__items", filter=Q(handover__items__to_user=user)))
        .order_by("-handover__confirmed_at")[:5]
    )
    if not waiting:
        return None
    return {"template": "activity_log/handover/_home_panel.html", "context": {"receipts": waiting}}

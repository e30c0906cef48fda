"""The admin's territories (销售区域) under /settings/territories/: add, rename, describe, assign to a team, and
put people in them. Admin only, like every funnel setting; the writes are reps.territories' (audited)."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import OuterRef
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from config.messages import saved_or_unchanged
from config.parsing import parse_id
from reps.access import admin_required
from reps.models import Territory, User
from reps.territories import TerritoryError, territory_assign, territory_create, territory_update

from ..models import Account
from .territory_forms import TerritoryForm, TerritoryPersonForm
from .views import COUNT_CAP, CountUpTo

TERRITORIES_PER_PAGE = 50
PEOPLE_PER_PAGE = 50


def _posted(request: HttpRequest):
    return request.POST if request.method == "POST" else None


def _attempt(form, write) -> bool:
    """Runs the write; a refusal becomes a form error, so the page shows what was typed again."""
    try:
        write()
    except TerritoryError as error:
        form.add_error(None, str(error))
        return False
    return True


@admin_required
def territory_list(request: HttpRequest) -> HttpResponse:
    """Every territory with its team and how many people and customers it holds, and a form to add one."""
    form = TerritoryForm(_posted(request))
    if form.is_valid() and _attempt(form, lambda: territory_create(by=request.user, **form.cleaned_data)):
        messages.success(request, _("Territory “%(name)s” added.") % {"name": form.cleaned_data["name"]})
        return redirect("configuration:territory_list")
    territories = (
        Territory.objects.select_related("team")
        .annotate(
            people=CountUpTo(User.objects.filter(territory=OuterRef("pk"), is_active=True)),
            customers=CountUpTo(Account.objects.filter(territory=OuterRef("pk"))),
        )
        .order_by("name", "pk")
    )
    page = Paginator(territories, TERRITORIES_PER_PAGE).get_page(request.GET.get("page"))
    context = {"page": page, "form": form, "count_cap": COUNT_CAP}
    return render(request, "funnel/config/territory_list.html", context, status=400 if form.errors else 200)


def _edit_page(request: HttpRequest, territory: Territory, form, person_form, status: int = 200) -> HttpResponse:
    people = (
        User.objects.filter(territory=territory)
        .select_related("team")
        .order_by("-is_active", "first_name", "last_name", "username", "pk")
    )
    page = Paginator(people, PEOPLE_PER_PAGE).get_page(request.GET.get("page"))
    context = {"territory": territory, "form": form, "person_form": person_form, "page": page}
    return render(request, "funnel/config/territory_edit.html", context, status=status)


@admin_required
def territory_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Rename, describe or give a territory to another team; the people in it, to add and take out."""
    territory = get_object_or_404(Territory.objects.select_related("team"), pk=pk)
    form = TerritoryForm(_posted(request), territory=territory)
    if form.is_valid() and _attempt(
        form, lambda: territory_update(territory=territory, by=request.user, **form.cleaned_data)
    ):
        saved_or_unchanged(request, form, _("Territory “%(name)s” saved.") % {"name": territory.name})
        return redirect("configuration:territory_edit", territory.pk)
    status = 400 if form.errors else 200
    return _edit_page(request, territory, form, TerritoryPersonForm(user=request.user), status)


@admin_required
@require_POST
def territory_people(request: HttpRequest, pk: int) -> HttpResponse:
    """Puts the chosen person in the territory (action=add), or takes one of its people out (action=remove)."""
    territory = get_object_or_404(Territory.objects.select_related("team"), pk=pk)
    if request.POST.get("action") == "remove":
        person = get_object_or_404(User, pk=parse_id(request.POST.get("person")), territory=territory)
        territory_assign(person=person, territory=None, by=request.user)
        words = {"person": person, "territory": territory}
        messages.success(request, _("%(person)s is no longer in %(territory)s.") % words)
        return redirect("configuration:territory_edit", territory.pk)
    person_form = TerritoryPersonForm(request.POST, user=request.user)
    if person_form.is_valid():
        person = person_form.cleaned_data["person"]
        try:
            changed = territory_assign(person=person, territory=territory, by=request.user)
        except TerritoryError as error:
            person_form.add_error(None, str(error))
        else:
            words = {"person": person, "territory": territory}
            if changed:
                messages.success(request, _("%(person)s is now in %(territory)s.") % words)
            else:
                messages.info(request, _("%(person)s was already in %(territory)s.") % words)
            return redirect("configuration:territory_edit", territory.pk)
    return _edit_page(request, territory, TerritoryForm(territory=territory), person_form, status=400)

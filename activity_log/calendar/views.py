"""The calendar feed's pages under the "log" namespace: the person's own settings page (make, replace or stop
the address) and the address itself, which a calendar app reads without signing in."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.messages import saved_or_unchanged

from ..models import CalendarFeed, ReminderSetting
from . import services
from .feed import render_feed
from .forms import CalendarFeedForm, ReminderSettingForm

SHOWN_ONCE = "calendar_feed_token"  # the session's copy of a new secret, until the page has shown it


@login_required
@require_http_methods(["GET", "POST"])
def calendar_settings(request: HttpRequest) -> HttpResponse:
    feed = CalendarFeed.objects.filter(user=request.user).first()
    form = CalendarFeedForm(request.POST or None, initial={"include_names": feed.include_names if feed else False})
    if request.method == "POST" and request.POST.get("action") == "stop":
        if services.calendar_feed_revoke(user=request.user, request=request):
            messages.success(request, _("The calendar address is stopped: calendars subscribed to it get nothing."))
        else:
            messages.info(request, _("There was no calendar address to stop."))
        return redirect("log:calendar")
    setting = ReminderSetting.objects.filter(user=request.user).first() or ReminderSetting(user=request.user)
    reminders = ReminderSettingForm(instance=setting)
    if request.method == "POST" and form.is_valid():
        token = services.calendar_feed_issue(
            user=request.user, include_names=form.cleaned_data["include_names"], request=request
        )
        request.session[SHOWN_ONCE] = token
        messages.success(request, _("A new calendar address is made; any earlier one stopped working."))
        return redirect("log:calendar")
    token = request.session.pop(SHOWN_ONCE, None)
    address = request.build_absolute_uri(reverse("log:calendar_feed", args=[token])) if token else None
    context = {"feed": feed, "form": form, "address": address, "reminders": reminders}
    return render(request, "activity_log/calendar.html", context, status=422 if form.is_bound else 200)


@login_required
@require_POST
def reminder_settings(request: HttpRequest) -> HttpResponse:
    """The morning e-mail's settings (activity_log.reminders), on the calendar page."""
    setting = ReminderSetting.objects.filter(user=request.user).first() or ReminderSetting(user=request.user)
    form = ReminderSettingForm(request.POST, instance=setting)
    if not form.is_valid():
        messages.error(request, _("Choose one of the hours offered."))
    else:
        if form.has_changed():
            form.save()
        saved_or_unchanged(request, form, _("Morning e-mail settings saved."))
    return redirect(reverse("log:calendar") + "#reminders")


@require_GET
@never_cache
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The ICS document, for the secret in the address; an unknown or stopped one is a 404 like any other."""
    feed = services.calendar_feed_for(token)
    if feed is None:
        raise Http404
    body = render_feed(feed, now=timezone.now(), link=request.build_absolute_uri)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="loudou.ics"'
    response["X-Robots-Tag"] = "noindex"
    return response

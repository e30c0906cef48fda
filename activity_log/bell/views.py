"""The notification list at /notifications/ ("notifications" namespace): a person's own notifications, newest
first, worded in their language; opening one marks it read and goes where it leads; all can be marked read."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from funnel.access import get_for_user
from funnel.opportunities.filters import Sort, keyset_page

from .. import notifications
from ..models import Notification
from .count import forget_count
from .wording import worded

PAGE_SIZE = 25
NEWEST_FIRST = Sort("", "created_at", True)  # walks the index notification_user_recent


@login_required
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    cursor = request.GET.get("after", "")
    own = Notification.objects.filter(user=request.user).order_by("-created_at", "-id")
    page, next_cursor = keyset_page(own, cursor, NEWEST_FIRST, PAGE_SIZE)
    forget_count(request)  # the bell on this page counts afresh
    context = {
        "rows": [(notification, worded(notification)) for notification in page],
        "next_cursor": next_cursor,
        "is_first_page": not cursor,
    }
    return render(request, "activity_log/bell/list.html", context)


@login_required
@require_POST
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Marks the person's own notification read and goes where it leads; anyone else's is a 404 (audited)."""
    notification = get_for_user(request, Notification.objects.filter(user=request.user), pk)
    notifications.notification_read(notification=notification, by=request.user)
    forget_count(request)
    url = notification.url
    if url.startswith("/") and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}):
        return redirect(url)
    return redirect("notifications:list")


@login_required
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    count = notifications.notifications_read_all(by=request.user)
    forget_count(request)
    if count:
        text = ngettext("%(count)d notification marked as read.", "%(count)d notifications marked as read.", count)
        messages.success(request, text % {"count": count})
    else:
        messages.info(request, _("Nothing to mark: every notification was read already."))
    return redirect("notifications:list")

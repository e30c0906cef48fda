"""Where a form sends the user back to: the page they came from (`next`), when it is one of ours.

The quick-add menu (templates/_quick_add.html) opens the visit, deal and customer forms with `next` set to the
page the user was on; the form carries it through its posts (the `next_field` tag) and, once saved, goes back
there. Anything but a path on this site (another host, a scheme, `//host`, a backslash trick) is ignored.
"""

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

MAX_LENGTH = 2000


def safe_next(request: HttpRequest) -> str | None:
    """The posted or asked `next`, if it is a path on this site; else None."""
    value = request.POST.get("next") or request.GET.get("next") or ""
    if not value.startswith("/") or len(value) > MAX_LENGTH or "\x00" in value:
        return None
    allowed = url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return value if allowed else None

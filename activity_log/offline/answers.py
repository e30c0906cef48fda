"""How a view answers a send from the outbox (static/js/outbox.js): JSON the script can keep, instead of a page.

The outbox marks its sends with the X-Loudou-Outbox header. A form posted by the browser without it gets the
pages and redirects it always got.
"""

from django.http import HttpRequest, JsonResponse

HEADER = "X-Loudou-Outbox"


def from_outbox(request: HttpRequest) -> bool:
    return bool(request.headers.get(HEADER))


def sent_now(request: HttpRequest) -> bool:
    """Sent the moment the user saved (the page then goes where the answer says, and shows the message); the
    outbox's later sends are "later" and leave no message for a page the user is not looking at."""
    return request.headers.get(HEADER) == "now"


def recorded(url: str) -> JsonResponse:
    """Done (or done before, for a resend): where the user goes next."""
    return JsonResponse({"ok": True, "url": url})


def refused(reasons: list[str], *, status: int = 422) -> JsonResponse:
    """Not done, with the reasons to show beside the item that stays in the outbox."""
    return JsonResponse({"ok": False, "reasons": [str(reason) for reason in reasons]}, status=status)


def form_reasons(form) -> list[str]:
    """A bound form's errors as sentences: the form-wide ones, then "Field: error" for each field."""
    reasons = [str(error) for error in form.non_field_errors()]
    for name, errors in form.errors.items():
        if name != "__all__":
            label = form.fields[name].label if name in form.fields else name
            reasons += [f"{label}: {error}" for error in errors]
    return reasons

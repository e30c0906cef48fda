from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .parsing import has_nul


class ContentSecurityPolicyMiddleware:
    """Adds the CSP header: a second line of defence against injected script (QUALITY S22, S29)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        return response


class RejectNulMiddleware:
    """Answers 400 to a request with a NUL character in its path, query string or posted form fields: no
    view then meets one, and PostgreSQL, which stores no NUL in text, never sees one (QUALITY S35).

    Multipart bodies are left alone: reading them here would receive a whole upload before the view can
    refuse it by size. Their fields go through forms, whose text fields refuse NUL; file contents are the
    importer's to judge, row by row.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._holds_nul(request):
            return render(request, "400.html", {"nul": True}, status=400)
        return self.get_response(request)

    @staticmethod
    def _holds_nul(request: HttpRequest) -> bool:
        parts = [request.path, *_form_texts(request.GET)]
        if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
            parts += _form_texts(request.POST)
        return any(has_nul(part) for part in parts)


def _form_texts(data) -> list[str]:
    return [text for key, values in data.lists() for text in (key, *values)]

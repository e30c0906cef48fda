"""Role gates: the one way a page says which roles may open it.

Every refusal is a 403 with an audit row (ACCESS_DENIED, the route's name, the path and the method), whichever
page refuses. A page only admins may open then asks an admin who has not given the second factor in this
session to give it (reps.second_factor).
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from .models import AuditAction, Role
from .second_factor import require_second_factor
from .services import audit_record


def require_role(request: HttpRequest, *roles: Role) -> None:
    """403, audited, unless the signed-in user has one of `roles`; on an admin-only page, the second factor."""
    if request.user.role not in roles:
        route = request.resolver_match.view_name if request.resolver_match else ""
        audit_record(
            action=AuditAction.ACCESS_DENIED,
            request=request,
            object_type=route[:64],
            detail={"path": request.path[:200], "method": request.method},
        )
        raise PermissionDenied
    if set(roles) == {Role.ADMIN}:
        require_second_factor(request)


def role_required(*roles: Role) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Signed in, then one of `roles` (require_role), then the view and its method check: someone refused
    learns nothing more, and gets 403 on a POST-only page too."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def checked(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            require_role(request, *roles)
            return view(request, *args, **kwargs)

        return checked

    return decorator


admin_required = role_required(Role.ADMIN)

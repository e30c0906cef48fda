"""The funnel's refusals (FunnelError and the version conflicts) and the retry of a write that lost a lock wait;
`funnel.opportunities.services` names them all, as before."""

import functools
import random
import time
from collections.abc import Callable

from django.db import OperationalError, connection
from django.utils.translation import gettext as _

from ..models import Opportunity


class FunnelError(Exception):
    """A write the funnel refuses; str(error) is the message for the user."""


class StaleVersion(FunnelError):
    def __init__(self, current: Opportunity):
        self.current = current
        super().__init__(
            _("Someone else changed “%(name)s” after you opened it. Review the current values and try again.")
            % {"name": current.name}
        )


class MissingVersion(StaleVersion):
    """A write that does not say which version of the deal the user saw: a conflict, never a pass."""

    def __init__(self, current: Opportunity):
        self.current = current
        FunnelError.__init__(
            self,
            _("Check the current state of “%(name)s” before changing it, then save again.") % {"name": current.name},
        )


class Busy(FunnelError):
    """Another transaction holds a row this write needs (a lock timeout or a deadlock), even after a retry."""

    def __init__(self, message: str = ""):
        super().__init__(message or _("Someone else is changing this deal right now. Try again in a moment."))


# SQLSTATEs of a lost lock wait: deadlock_detected, lock_not_available (lock_timeout).
LOCK_CONFLICT_CODES = {"40P01", "55P03"}
LOCK_ATTEMPTS = 2


def is_lock_conflict(error: Exception) -> bool:
    """A deadlock or lock timeout on PostgreSQL, or SQLite's "database is locked"."""
    if isinstance(error, Busy):
        return True
    cause = error.__cause__
    code = getattr(cause, "pgcode", None) or getattr(cause, "sqlstate", None)
    return isinstance(error, OperationalError) and (code in LOCK_CONFLICT_CODES or "database is locked" in str(error))


def retry_on_lock_conflict(service: Callable) -> Callable:
    """Runs the service's transaction again once after a lock conflict, then raises Busy.

    Inside a caller's transaction it only turns the conflict into Busy: the outermost one retries.
    Put it above @transaction.atomic, so each attempt is a new transaction.
    """

    @functools.wraps(service)
    def run(*args, **kwargs):
        nested = connection.in_atomic_block
        for attempt in range(1, LOCK_ATTEMPTS + 1):
            try:
                return service(*args, **kwargs)
            except (OperationalError, Busy) as error:
                if not is_lock_conflict(error):
                    raise
                if nested or attempt == LOCK_ATTEMPTS:
                    raise error if isinstance(error, Busy) else Busy() from error
                time.sleep(random.uniform(0.02, 0.1))  # noqa: S311 - jitter, so the two do not collide again
        raise AssertionError("unreachable")

    return run

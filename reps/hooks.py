"""What other apps tell reps about a person, without reps importing them: the funnel registers how many
customers and open deals a person still owns, and deactivating them in Django admin asks for a handover
first while any are left (the service itself stays a plain switch: commands and tests call it)."""

from collections.abc import Callable

BookCounter = Callable[..., dict[str, int]]
_book_counters: list[BookCounter] = []


def register_book_counter(counter: BookCounter) -> BookCounter:
    """`counter(user=...)` returns {label: count} of what the person still owns (labels are for people)."""
    if counter not in _book_counters:
        _book_counters.append(counter)
    return counter


def open_book(*, user) -> dict[str, int]:
    """Every registered count above zero of what the person still owns."""
    found: dict[str, int] = {}
    for counter in _book_counters:
        found.update({label: count for label, count in counter(user=user).items() if count})
    return found

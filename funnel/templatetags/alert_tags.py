"""{{ alert|alert_why }}: the numbers that raised an alert, worded (funnel.health.why)."""

from django import template

from ..health.why import why

register = template.Library()


@register.filter
def alert_why(alert) -> str:
    return why(alert)

"""Template filters for config.wording: lists, labels and brackets in the reader's language."""

from django import template

from config import wording

register = template.Library()


@register.filter
def join_list(items) -> str:
    return wording.join_list(items)


@register.filter
def join_clauses(items) -> str:
    return wording.join_clauses(items)


@register.filter
def bracketed(text) -> str:
    return wording.bracketed(text)


@register.filter
def time_zone(zone: str) -> str:
    """ "Asia/Shanghai" as "(UTC+08:00) China Standard Time – Shanghai", in the reader's language."""
    from reps.time_zones import zone_label

    return zone_label(zone)

"""`{% next_field %}`: the hidden `next` a form carries through its posts (config.redirects.safe_next)."""

from django import template
from django.utils.html import format_html

from config.redirects import safe_next

register = template.Library()


@register.simple_tag(takes_context=True)
def next_field(context) -> str:
    request = context.get("request")
    target = safe_next(request) if request is not None else None
    return format_html('<input type="hidden" name="next" value="{}">', target) if target else ""

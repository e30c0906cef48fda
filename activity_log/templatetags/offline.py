"""{% offline_user_key %}: the signed-in user's key for their browser caches and outbox (activity_log.offline)."""

from django import template

from ..offline.keys import user_key

register = template.Library()


@register.simple_tag(takes_context=True)
def offline_user_key(context) -> str:
    user = getattr(context.get("request"), "user", None)
    return user_key(user) if user is not None and user.is_authenticated else ""

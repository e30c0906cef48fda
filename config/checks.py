from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def check_secret_key_is_set(app_configs, **kwargs):
    """The built-in development key must never reach production."""
    if settings.SECRET_KEY == settings.DEV_SECRET_KEY:
        return [Error("SECRET_KEY is not set: the development key is in use.", id="loudou.E001")]
    return []


@register(Tags.security, deploy=True)
def check_https_is_on(app_configs, **kwargs):
    if not settings.HTTPS:
        return [Error("HTTPS is off: set HTTPS=true behind TLS in production.", id="loudou.E002")]
    return []

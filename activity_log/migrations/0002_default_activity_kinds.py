"""The activity kinds every organisation starts with; admins add, rename or retire them."""

from django.db import migrations
from django.utils.translation import gettext_noop

DEFAULT_KINDS = [
    gettext_noop("Visit"),
    gettext_noop("Call"),
    gettext_noop("Meeting"),
    gettext_noop("Demo"),
    gettext_noop("E-mail"),
    gettext_noop("Other"),
]


def add_kinds(apps, schema_editor):
    kind = apps.get_model("activity_log", "ActivityKind")
    for order, name in enumerate(DEFAULT_KINDS):
        kind.objects.get_or_create(name=name, defaults={"order": order})


class Migration(migrations.Migration):
    dependencies = [("activity_log", "0001_initial")]
    operations = [migrations.RunPython(add_kinds, migrations.RunPython.noop)]

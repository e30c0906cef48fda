from django.db import migrations

from reps.migrations import _append_only


class Migration(migrations.Migration):
    dependencies = [("reps", "0001_initial")]
    operations = [_append_only.protect("reps_auditevent")]

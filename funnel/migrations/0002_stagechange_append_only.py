"""Stage history is append-only (docs/architecture.md, "Writes and locks"); the same database guard as the audit
trail."""

from django.db import migrations

from reps.migrations import _append_only


class Migration(migrations.Migration):
    dependencies = [("funnel", "0001_initial"), ("reps", "0002_audit_append_only")]
    operations = [_append_only.protect("funnel_stagechange")]

from django.db import migrations, models


def forget_summaries(apps, schema_editor):
    """Summaries are recomputed on demand; those written before they knew their time zone are dropped."""
    apps.get_model("funnel", "DashboardSummary").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("funnel", "0013_owner_next_step_index"),
    ]

    operations = [
        migrations.RunPython(forget_summaries, migrations.RunPython.noop),
        migrations.AddField(
            model_name="dashboardsummary",
            name="time_zone",
            field=models.CharField(default="UTC", max_length=64, verbose_name="time zone"),
            preserve_default=False,
        ),
    ]

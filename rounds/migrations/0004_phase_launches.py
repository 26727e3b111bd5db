from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("rounds", "0003_round_batches_by_number")]

    operations = [
        migrations.AddField(
            model_name="traininground",
            name="launches",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]

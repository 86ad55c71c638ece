from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY: no lock on the ledger while it builds.
    atomic = False

    dependencies = [
        ("ledger", "0008_idempotency_key_outcome"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="ledgertransaction",
            index=models.Index(
                condition=models.Q(("status", "pending")),
                fields=["type", "created_at"],
                name="ledger_txn_pending_age_idx",
            ),
        ),
    ]

"""PostgreSQL triggers that make the ledger append-only and double-entry (see ledger/sql/)."""

from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    operations = [
        migrations.RunSQL(
            sql=(SQL_DIR / "0002_invariants.sql").read_text(),
            reverse_sql=(SQL_DIR / "0002_invariants_reverse.sql").read_text(),
        )
    ]

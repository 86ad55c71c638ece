"""PostgreSQL trigger that makes the audit trail append-only (see audit/sql/)."""

from pathlib import Path

from django.db import migrations

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_audit_event")]

    operations = [
        migrations.RunSQL(
            sql=(SQL_DIR / "0002_append_only.sql").read_text(),
            reverse_sql=(SQL_DIR / "0002_append_only_reverse.sql").read_text(),
        )
    ]

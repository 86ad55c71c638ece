"""Leave half of every wallets page free, so a balance update stays on its page.

A transfer updates two wallet rows. PostgreSQL writes an update as a new row version; when it fits
on the same page and no indexed column changed (balances are not indexed), the update is
heap-only (HOT): no entry in any of the table's five indexes. At the default fill factor (100)
the pages of wallets created together are full, and an update that finds no room moves the row to
another page and inserts into every index. ``make bench`` HTTP runs on 10,000 wallets (vacuumed
before each run), share of wallet updates that were HOT: 68% at fill factor 100, 84% at 70,
32,791 of 32,801 at 50 (bench/RESULTS.md). The table is small next to the ledger (a wallet per
user and currency), so the doubled size costs little. New pages follow the setting at once;
existing pages once their rows move, or after ``VACUUM FULL wallets_wallet`` (an exclusive lock:
a maintenance window).
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("wallets", "0002_receivable_system_account"),
    ]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE wallets_wallet SET (fillfactor = 50)",
            reverse_sql="ALTER TABLE wallets_wallet RESET (fillfactor)",
        ),
    ]

"""The database cache's table (settings.DATABASE_CACHE_TABLE), used when REDIS_URL is unset.

The same table `manage.py createcachetable` would create, made by `migrate` so every start path
(make run, docker, CI) has it. IF NOT EXISTS: a database where createcachetable ran keeps its table.
"""

from django.db import migrations


class Migration(migrations.Migration):
    initial = True
    dependencies: list[tuple[str, str]] = []

    operations = [
        migrations.RunSQL(
            sql=[
                'CREATE TABLE IF NOT EXISTS "vaultcore_cache" ('
                '"cache_key" varchar(255) NOT NULL PRIMARY KEY, '
                '"value" text NOT NULL, '
                '"expires" timestamp with time zone NOT NULL)',
                'CREATE INDEX IF NOT EXISTS "vaultcore_cache_expires" ON "vaultcore_cache" ("expires")',
            ],
            reverse_sql=['DROP TABLE IF EXISTS "vaultcore_cache"'],
        )
    ]

"""The checked-in schema.graphql matches the schema (CI fails when it is stale)."""

from pathlib import Path

from django.core.management import call_command

from graphql_api.management.commands.export_graphql_schema import DEFAULT_PATH, schema_sdl


def test_checked_in_schema_is_current() -> None:
    assert DEFAULT_PATH.read_text() == schema_sdl(), "run: manage.py export_graphql_schema"


def test_export_writes_the_schema(tmp_path: Path) -> None:
    out = tmp_path / "schema.graphql"
    call_command("export_graphql_schema", output=str(out))
    assert out.read_text() == schema_sdl()

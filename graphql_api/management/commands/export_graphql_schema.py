"""Write the GraphQL schema (SDL) to ``schema.graphql`` (checked in; a test fails when stale)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from graphql_api.schema import schema

DEFAULT_PATH = Path(settings.BASE_DIR) / "schema.graphql"


def schema_sdl() -> str:
    return schema.as_str() + "\n"


class Command(BaseCommand):
    help = "Export the GraphQL schema as SDL (default: schema.graphql at the repository root)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--output", default=str(DEFAULT_PATH))

    def handle(self, *args: Any, output: str, **options: Any) -> None:
        Path(output).write_text(schema_sdl())
        self.stdout.write(f"wrote {output}")

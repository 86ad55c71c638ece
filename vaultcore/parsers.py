"""Request parsers. JSON numbers become ``Decimal`` exactly, never a binary float."""

from __future__ import annotations

import codecs
import json
from decimal import Decimal
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class DecimalJSONParser(JSONParser):
    """JSON parser that keeps ``10.10`` as ``Decimal("10.10")`` and rejects NaN/Infinity."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            decoded_stream = codecs.getreader(encoding)(stream)
            return json.load(decoded_stream, parse_float=Decimal, parse_constant=_reject_constant)
        except ValueError as exc:
            raise ParseError("Malformed JSON: the request body could not be parsed.") from exc

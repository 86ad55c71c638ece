"""Request parsers. JSON numbers become ``Decimal`` exactly, never a binary float."""

from __future__ import annotations

import codecs
import json
from decimal import Decimal
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ErrorDetail, ParseError, ValidationError
from rest_framework.parsers import JSONParser

# No request body of this API nests deeper than a few levels; deeper input is refused before
# anything walks it (the C scanner itself gives up with RecursionError near 1,000 levels).
MAX_JSON_DEPTH = 32


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _nul_error(attr: str | None) -> ValidationError:
    detail = ErrorDetail("Null characters are not allowed.", code="null_characters_not_allowed")
    return ValidationError({attr or "non_field_errors": [detail]})


def _check_shape(data: Any) -> None:
    """Refuse nesting deeper than ``MAX_JSON_DEPTH`` and NUL characters in any key or string
    (PostgreSQL text cannot hold them); ``attr`` names the top-level field at fault."""
    stack: list[tuple[Any, int, str | None]] = [(data, 0, None)]
    while stack:
        value, depth, attr = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise ParseError(f"Malformed JSON: nested deeper than {MAX_JSON_DEPTH} levels.")
        if isinstance(value, str):
            if "\x00" in value:
                raise _nul_error(attr)
        elif isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in key:
                    raise _nul_error(None)
                stack.append((item, depth + 1, attr if depth else key))
        elif isinstance(value, list):
            stack.extend((item, depth + 1, attr) for item in value)


class DecimalJSONParser(JSONParser):
    """JSON parser that keeps ``10.10`` as ``Decimal("10.10")`` and rejects NaN/Infinity,
    NUL characters and absurd nesting."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            decoded_stream = codecs.getreader(encoding)(stream)
            data = json.load(decoded_stream, parse_float=Decimal, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as exc:
            raise ParseError("Malformed JSON: the request body could not be parsed.") from exc
        _check_shape(data)
        return data

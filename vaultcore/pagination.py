"""List pagination of the contract: ``{results, next, previous}`` with ``?limit=`` and cursor links.

Cursor pagination costs the same on page 1,000 as on page 1 (it seeks by the ordering key
instead of counting an offset). ``limit`` defaults to 50 and is capped at 200.
"""

from __future__ import annotations

import re
from typing import Any

from rest_framework.exceptions import ErrorDetail, NotFound, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request

# A cursor's position is a primary key: decimal digits within PostgreSQL's bigint.
_POSITION_RE = re.compile(r"[0-9]{1,18}")


class LimitCursorPagination(CursorPagination):
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200
    ordering = "-id"

    def decode_cursor(self, request: Request) -> Any:
        """DRF's cursor, refused with a 400 on ``cursor`` when it is not one this API made.

        DRF checks the offset but passes the position (``p=``) through to the ordering filter,
        where a non-integer id fails in SQL; every ordering here is by the integer primary key.
        """
        try:
            cursor = super().decode_cursor(request)
            if cursor is not None and cursor.position is not None and not _POSITION_RE.fullmatch(str(cursor.position)):
                raise NotFound(self.invalid_cursor_message)
        except NotFound as exc:
            detail = ErrorDetail("Invalid cursor.", code="invalid_cursor")
            raise ValidationError({self.cursor_query_param: [detail]}) from exc
        return cursor

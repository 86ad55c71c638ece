"""List pagination of the contract: ``{results, next, previous}`` with ``?limit=`` and cursor links.

Cursor pagination costs the same on page 1,000 as on page 1 (it seeks by the ordering key
instead of counting an offset). ``limit`` defaults to 50 and is capped at 200.
"""

from __future__ import annotations

from rest_framework.pagination import CursorPagination


class LimitCursorPagination(CursorPagination):
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200
    ordering = "-id"

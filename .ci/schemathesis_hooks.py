"""schemathesis hooks (``SCHEMATHESIS_HOOKS``): strategies for the GraphQL schema's own scalars,
and with ``SCHEMATHESIS_TRACE=<file>`` a JSON line per call (operation, document, response body)
to see how deep the fuzzing gets (which operations reach data, which errors stop the rest)."""

from __future__ import annotations

import json
import os
from typing import Any

import schemathesis
from hypothesis import strategies as st
from schemathesis.graphql import nodes

# Mostly small valid amounts (so mutations reach the services), some over-precise or junk.
_AMOUNTS = st.one_of(
    st.decimals(min_value="0.01", max_value="50", places=2).map(str),
    st.decimals(min_value=-1000, max_value=10**9, allow_nan=False, places=3).map(str),
    st.text(max_size=12),
)
schemathesis.graphql.scalar("Decimal", _AMOUNTS.map(nodes.String))
schemathesis.graphql.scalar("DateTime", st.datetimes().map(lambda value: nodes.String(value.isoformat())))
schemathesis.graphql.scalar("JSON", st.text(max_size=20).map(nodes.String))


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    path = os.environ.get("SCHEMATHESIS_TRACE")
    if not path:
        return
    try:
        body = response.json()
    except ValueError:
        body = None
    with open(path, "a") as trace:
        trace.write(json.dumps({"op": case.operation.label, "query": str(case.body)[:400], "body": body}) + "\n")

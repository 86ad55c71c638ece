"""History paging: page 1 and page N of a wallet with a long history cost the same (cursor).

Seeds one user whose wallet has ``entries`` posted transactions (bulk SQL through
``scratch.fund``), then, over HTTP against the running server, follows the ``next`` cursor links
to page N and times page 1 and page N (median of several requests each). Offset paging of the
same page is timed too, for contrast (it counts past every earlier row).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass
from decimal import Decimal

import httpx

from bench.http_level import PROXY_HEADERS, mint_tokens
from bench.scratch import fund, populate

PAGE_SIZE = 50


@dataclass
class HistoryResult:
    entries: int
    page: int
    page_1_ms: float
    page_n_ms: float
    offset_page_n_ms: float
    walk_seconds: float

    @property
    def ratio(self) -> float:
        return self.page_n_ms / self.page_1_ms if self.page_1_ms else 0.0

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "ratio_page_n_to_page_1": round(self.ratio, 2)}


def seed(entries: int) -> int:
    """A user whose wallet received ``entries`` credits; returns the user's id."""
    population = populate(prefix="hist", count=1, balance=Decimal("0"))
    fund(wallet_ids=population.wallet_ids * entries, amount=Decimal("1.00"))
    return population.user_ids[0]


def _median_ms(client: httpx.Client, url: str, params: dict[str, str] | None, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        response = client.get(url, params=params)
        samples.append((time.perf_counter() - start) * 1000)
        response.raise_for_status()
        if len(response.json()["results"]) != PAGE_SIZE:
            raise RuntimeError(f"expected a full page of {PAGE_SIZE} from {url}")
    return statistics.median(samples)


def measure(base: str, user_id: int, *, page: int, repeats: int) -> HistoryResult:
    (token,) = mint_tokens([user_id])
    headers = {**PROXY_HEADERS, "Authorization": f"Bearer {token}"}
    first = f"{base}/api/v1/transactions/?limit={PAGE_SIZE}"
    with httpx.Client(headers=headers, timeout=30) as client:
        started = time.perf_counter()
        url = first
        for _ in range(page - 1):
            response = client.get(url)
            response.raise_for_status()
            link = response.json()["next"]
            if not link:
                raise RuntimeError(f"history ended before page {page}")
            # The link says https (the proxy header); keep talking plain HTTP to the same server.
            url = base + link[link.index("/api/") :]
        walk = time.perf_counter() - started
        page_n_url = url
        page_1 = _median_ms(client, first, None, repeats)
        page_n = _median_ms(client, page_n_url, None, repeats)
        offset_n = _median_ms(
            client, f"{base}/api/v1/transactions/", {"limit": str(PAGE_SIZE), "offset": str(PAGE_SIZE * (page - 1))},
            repeats,
        )  # fmt: skip
    entries = 0
    from ledger.models import LedgerEntry

    entries = LedgerEntry.objects.filter(wallet__user_id=user_id).count()
    return HistoryResult(
        entries=entries, page=page, page_1_ms=page_1, page_n_ms=page_n, offset_page_n_ms=offset_n, walk_seconds=walk
    )

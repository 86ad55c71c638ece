"""Reading metrics in tests: this process's counters, and a whole scrape's samples."""

from __future__ import annotations

from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from vaultcore.metrics import metrics_render


def counter_value(name: str, **labels: str) -> float:
    """This process's value of counter ``name`` (without ``_total``) for ``labels``, 0 if unseen."""
    return REGISTRY.get_sample_value(f"{name}_total", labels) or 0.0


def scraped(text: str | None = None) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a /metrics body (default: a fresh render) by (name, labels)."""
    body = text if text is not None else metrics_render().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def sample(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]

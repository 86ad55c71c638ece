"""Topic -> handler: each app registers its topics in ``AppConfig.ready`` by the dotted path of a
Celery task, so the outbox imports no domain app (it sits below all of them)."""

from __future__ import annotations

from typing import Any

from django.utils.module_loading import import_string

_TOPICS: dict[str, str] = {}


class UnknownTopic(LookupError):
    pass


def topic_register(topic: str, task_path: str) -> None:
    """``topic_register("accounts.verification_email", "accounts.tasks.verification_email_send")``."""
    existing = _TOPICS.get(topic)
    if existing is not None and existing != task_path:
        raise ValueError(f"outbox topic {topic!r} is already registered to {existing}")
    _TOPICS[topic] = task_path


def topic_is_registered(topic: str) -> bool:
    return topic in _TOPICS


def topic_task(topic: str) -> Any:
    """The Celery task handling ``topic`` (imported on first use)."""
    try:
        path = _TOPICS[topic]
    except KeyError:
        raise UnknownTopic(f"no handler registered for outbox topic {topic!r}") from None
    return import_string(path)


def registered_topics() -> dict[str, str]:
    return dict(_TOPICS)

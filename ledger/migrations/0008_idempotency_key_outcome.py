"""Idempotency keys record the operation's outcome instead of the rendered HTTP response."""

import json
from typing import Any

from django.db import migrations, models


def _outcome_from_response(status: int, body: str) -> dict[str, Any] | None:
    """The outcome a stored response stands for (keys of the last day keep answering the same)."""

    data = json.loads(body)
    if status >= 400:
        error = data["errors"][0]
        return {"error": {"status": status, "code": error["code"], "detail": error["detail"], "attr": error["attr"]}}
    posted_at = data.get("posted_at")
    if posted_at is not None and posted_at.endswith("Z"):
        posted_at = posted_at[:-1] + "+00:00"
    transaction = {"id": data["id"], "status": data["status"], "reference": data["reference"], "posted_at": posted_at}
    result = {"payment": data["payment"]} if "payment" in data else {}
    return {"transactions": [transaction], "result": result}


def forwards(apps: Any, schema_editor: Any) -> None:
    IdempotencyKey = apps.get_model("ledger", "IdempotencyKey")
    for key in IdempotencyKey.objects.filter(response_status__isnull=False).iterator():
        key.outcome = _outcome_from_response(key.response_status, key.response_body or "{}")
        key.save(update_fields=["outcome"])
    # The old fingerprints hashed the HTTP body, the new ones the operation's canonical input: they
    # cannot match. An empty fingerprint marks a key from before (ledger.idempotency accepts any
    # input of the same operation for it), so a retry across the deploy replays instead of 422.
    IdempotencyKey.objects.update(fingerprint="")


class Migration(migrations.Migration):
    dependencies = [("ledger", "0007_idempotency_key_drop_fk_indexes")]

    operations = [
        migrations.RenameField(model_name="idempotencykey", old_name="endpoint", new_name="operation"),
        migrations.AddField(model_name="idempotencykey", name="outcome", field=models.JSONField(blank=True, null=True)),
        migrations.RunPython(forwards, migrations.RunPython.noop, elidable=True),
        migrations.RemoveField(model_name="idempotencykey", name="response_status"),
        migrations.RemoveField(model_name="idempotencykey", name="response_body"),
    ]

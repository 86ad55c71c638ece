"""AES-256-GCM encryption of sensitive columns, with a key ring and row-bound associated data.

Stored format (one text column per sensitive value)::

    v1:<key id>:<base64 nonce (12 bytes)>:<base64 ciphertext+tag>

- every encryption draws a fresh random 96-bit nonce;
- the associated data ``vaultcore:<table>:<field>:<row pk>`` binds a ciphertext to its table,
  field and row, so a value copied to another row or column does not decrypt;
- the key id names the key that encrypted the value. ``settings.ENCRYPTION_KEYS`` is the ring:
  ``kid:base64(32 bytes)`` entries, comma-separated, newest first. The first key encrypts, every
  key decrypts; ``manage.py rotate_encryption_key`` re-encrypts old values with the first key.

Models declare :class:`EncryptedTextField` columns; the field installs a plaintext property on
the model (``account_number`` for the column ``account_number_encrypted``), so code reads and
writes plaintext while the database only ever sees ciphertext. The row's primary key must be
known before the first save (a UUID generated in Python).

No error message or log line ever contains plaintext, ciphertext or key material (a failed
decryption logs only the key id).
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

from payments.exceptions import DecryptionFailed

logger = logging.getLogger("payments.crypto")

FORMAT_VERSION = "v1"
NONCE_BYTES = 12
KEY_BYTES = 32
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


@dataclass(frozen=True)
class KeyRing:
    """Ordered keys: ``primary_kid`` encrypts; every key in ``keys`` decrypts."""

    primary_kid: str
    keys: dict[str, bytes]

    def prefix(self) -> str:
        """The stored-value prefix of values encrypted with the primary key."""
        return f"{FORMAT_VERSION}:{self.primary_kid}:"


def parse_key_ring(spec: str) -> KeyRing:
    """Parse ``kid:base64key,kid:base64key`` (newest first). Raises ImproperlyConfigured."""
    keys: dict[str, bytes] = {}
    order: list[str] = []
    for raw_entry in spec.split(","):
        entry = raw_entry.strip()
        if not entry:
            continue
        kid, sep, encoded = entry.partition(":")
        kid = kid.strip()
        if not sep or not _KEY_ID.match(kid):
            raise ImproperlyConfigured(
                "ENCRYPTION_KEYS entries must look like 'kid:base64key' with a key id of letters, digits, '-' or '_'."
            )
        if kid in keys:
            raise ImproperlyConfigured(f"ENCRYPTION_KEYS names the key id {kid!r} twice.")
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise ImproperlyConfigured(f"ENCRYPTION_KEYS: key {kid!r} is not valid base64.") from None
        if len(key) != KEY_BYTES:
            raise ImproperlyConfigured(f"ENCRYPTION_KEYS: key {kid!r} must decode to {KEY_BYTES} bytes (AES-256).")
        keys[kid] = key
        order.append(kid)
    if not order:
        raise ImproperlyConfigured(
            "ENCRYPTION_KEYS is not set. It is required when DEBUG is off: 'kid:base64(32 random bytes)', "
            "newest first. See .env.example."
        )
    return KeyRing(primary_kid=order[0], keys=keys)


@lru_cache(maxsize=4)
def _cached_ring(spec: str) -> KeyRing:
    return parse_key_ring(spec)


def key_ring() -> KeyRing:
    """The configured key ring (re-read when ``settings.ENCRYPTION_KEYS`` changes)."""
    return _cached_ring(settings.ENCRYPTION_KEYS)


def associated_data(*, table: str, field: str, row_id: object) -> bytes:
    """The AAD that binds a ciphertext to one column of one row."""
    return f"vaultcore:{table}:{field}:{row_id}".encode()


def encrypt(plaintext: str, *, aad: bytes, ring: KeyRing | None = None) -> str:
    """Encrypt with the ring's primary key and a fresh random nonce; return the stored form."""
    ring = ring or key_ring()
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(ring.keys[ring.primary_kid]).encrypt(nonce, plaintext.encode(), aad)
    return ":".join(
        (FORMAT_VERSION, ring.primary_kid, base64.b64encode(nonce).decode(), base64.b64encode(ciphertext).decode())
    )


def key_id_of(stored: str) -> str | None:
    """The key id of a stored value, or None when it is not in the expected format."""
    parts = stored.split(":")
    if len(parts) != 4 or parts[0] != FORMAT_VERSION:
        return None
    return parts[1]


def decrypt(stored: str, *, aad: bytes, ring: KeyRing | None = None) -> str:
    """Decrypt a stored value. Raises DecryptionFailed (never revealing the value) on any problem."""
    ring = ring or key_ring()
    parts = stored.split(":")
    if len(parts) != 4 or parts[0] != FORMAT_VERSION:
        raise DecryptionFailed("A stored encrypted value is not in the expected format.")
    _, kid, nonce_b64, ciphertext_b64 = parts
    key = ring.keys.get(kid)
    if key is None:
        # The key id is configuration, not a secret: operators need it; clients never see it.
        logger.warning("decryption failed: key id %r is not in ENCRYPTION_KEYS", kid)
        raise DecryptionFailed("A stored encrypted value uses a key that is not configured.")
    try:
        nonce = base64.b64decode(nonce_b64, validate=True)
        ciphertext = base64.b64decode(ciphertext_b64, validate=True)
        if len(nonce) != NONCE_BYTES:
            raise ValueError("nonce length")
        return AESGCM(key).decrypt(nonce, ciphertext, aad).decode()
    except (InvalidTag, binascii.Error, ValueError):
        # Wrong key, tampered ciphertext, or a value moved to another row/column.
        logger.warning("decryption failed: authentication failed under key id %r", kid)
        raise DecryptionFailed("A stored encrypted value could not be decrypted (wrong key or altered data).") from None


class EncryptedTextField(models.TextField):
    """A column holding an AES-256-GCM ciphertext; installs a plaintext property on the model.

    ``account_number_encrypted = EncryptedTextField(plaintext_name="account_number")`` gives
    ``instance.account_number`` (get: decrypt, set: encrypt with the row's pk in the AAD).
    """

    def __init__(self, *args: Any, plaintext_name: str = "", **kwargs: Any) -> None:
        self.plaintext_name = plaintext_name
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["plaintext_name"] = self.plaintext_name
        kwargs.pop("editable", None)
        return name, path, args, kwargs

    def contribute_to_class(self, cls: type[models.Model], name: str, private_only: bool = False) -> None:
        super().contribute_to_class(cls, name, private_only=private_only)
        if not self.plaintext_name:
            raise ImproperlyConfigured(f"{cls.__name__}.{name}: EncryptedTextField needs plaintext_name=")
        if not cls._meta.abstract:
            setattr(cls, self.plaintext_name, _plaintext_property(self))

    def aad_for(self, instance: models.Model) -> bytes:
        if instance.pk is None:
            raise ImproperlyConfigured(
                f"{type(instance).__name__} needs its primary key before encrypted values are set "
                "(use a UUID primary key with a Python default)."
            )
        return associated_data(table=self.model._meta.db_table, field=self.plaintext_name, row_id=instance.pk)

    def decrypt_value(self, instance: models.Model, ring: KeyRing | None = None) -> str | None:
        stored = getattr(instance, self.attname)
        if stored is None:
            return None
        return decrypt(stored, aad=self.aad_for(instance), ring=ring)

    def encrypt_value(self, instance: models.Model, plaintext: str | None, ring: KeyRing | None = None) -> None:
        stored = None if plaintext is None else encrypt(plaintext, aad=self.aad_for(instance), ring=ring)
        setattr(instance, self.attname, stored)


def _plaintext_property(field: EncryptedTextField) -> property:
    def fget(instance: models.Model) -> str | None:
        return field.decrypt_value(instance)

    def fset(instance: models.Model, value: str | None) -> None:
        field.encrypt_value(instance, value)

    return property(fget, fset, doc=f"Plaintext of {field.attname} (AES-256-GCM at rest).")


def encrypted_fields(model: type[models.Model]) -> list[EncryptedTextField]:
    """The encrypted columns of a model."""
    return [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]

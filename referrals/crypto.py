"""Partner webhook secrets: generated here, stored only encrypted (Fernet).

The Fernet keys are derived with HKDF-SHA256 from settings.FIELD_ENCRYPTION_KEY,
a list of key materials: the first encrypts, every one decrypts. To change keys,
put the new material first, run `manage.py reencrypt_partner_secrets`, then drop
the old one. With FIELD_ENCRYPTION_KEY unset the material is SECRET_KEY, so
changing SECRET_KEY would make the stored secrets unreadable: set
FIELD_ENCRYPTION_KEY explicitly in production.
"""

from __future__ import annotations

import base64
import secrets

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

SECRET_PREFIX = "whsec_"  # noqa: S105 (the Standard Webhooks prefix, not a secret)
SECRET_BYTES = 32
_HKDF_INFO = b"footdrop-triage/referrals/partner-webhook-secret/v1"


class SecretUnreadable(Exception):
    """A stored secret that none of the configured keys decrypts."""


def webhook_secret_generate() -> str:
    """A Standard Webhooks secret: `whsec_` and the base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key_materials() -> list[str]:
    configured = settings.FIELD_ENCRYPTION_KEY
    materials = [configured] if isinstance(configured, str) else list(configured)
    materials = [material for material in materials if material]
    if not materials:
        raise SecretUnreadable("FIELD_ENCRYPTION_KEY is empty")
    return materials


def _fernet(material: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(material.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def _cipher() -> MultiFernet:
    return MultiFernet([_fernet(material) for material in _key_materials()])


def secret_encrypt(plain: str) -> str:
    return _cipher().encrypt(plain.encode()).decode()


def secret_decrypt(token: str) -> str:
    try:
        return _cipher().decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise SecretUnreadable("no configured FIELD_ENCRYPTION_KEY decrypts this secret") from error


def secret_reencrypt(token: str) -> str:
    """The same secret under the first (newest) key."""
    try:
        return _cipher().rotate(token.encode()).decode()
    except InvalidToken as error:
        raise SecretUnreadable("no configured FIELD_ENCRYPTION_KEY decrypts this secret") from error

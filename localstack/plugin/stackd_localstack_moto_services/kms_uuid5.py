"""Lets LocalStack's KMS create keys on Python 3.11.

Works around an emulator quirk of LocalStack 4.13.1's KMS provider on the
Python this project runs it with: ``KmsKey.generate_key_material_id`` calls
``uuid.uuid5(namespace, key_material)`` with ``bytes`` key material, which
only Python 3.12 and later accept. On 3.11 every ``CreateKey`` answers 500
("encoding without a string argument").

Registered as an ``on_infra_start`` hook that gives the KMS models module a
``uuid`` whose ``uuid5`` accepts bytes exactly as 3.12's does (SHA-1 of the
namespace bytes and the name bytes, version 5).
"""

import hashlib
import types
import uuid as _uuid

from localstack.runtime import hooks


def _uuid5(namespace: _uuid.UUID, name) -> _uuid.UUID:
    if isinstance(name, (bytes, bytearray)):
        digest = hashlib.sha1(namespace.bytes + bytes(name), usedforsecurity=False).digest()
        return _uuid.UUID(bytes=digest[:16], version=5)
    return _uuid.uuid5(namespace, name)


@hooks.on_infra_start()
def stackd_kms_uuid5_bytes() -> None:
    from localstack.services.kms import models

    if getattr(models.uuid, "_stackd_shim", False):
        return
    shim = types.SimpleNamespace(
        **{k: getattr(_uuid, k) for k in dir(_uuid) if not k.startswith("__")}
    )
    shim.uuid5 = _uuid5
    shim._stackd_shim = True
    models.uuid = shim

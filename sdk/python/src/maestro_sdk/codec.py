"""Maestro's Temporal payload codec, byte-compatible with ``src/codec/payload-codec.ts``.

Every payload is encrypted with AES-256-GCM: the protobuf bytes of the payload (its metadata and
data) become ``iv (12) ‖ ciphertext ‖ tag (16)`` under a fresh random IV, in a payload whose
metadata says ``encoding: binary/encrypted``, ``encryption-key-id`` (the key that encrypted it) and
``encryption-cipher: AES-256-GCM``. The first configured key encrypts; every key decrypts the
payloads naming it. A payload without the encrypted encoding passes through decoding unchanged.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
import re
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter, PayloadCodec

ENCRYPTED_ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
CIPHER_METADATA = "encryption-cipher"
CIPHER = b"AES-256-GCM"
IV_BYTES = 12
TAG_BYTES = 16

_KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_BASE64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")


class PayloadUndecryptableError(Exception):
    """A payload names a key that is not configured, or fails authentication (``PAYLOAD_UNDECRYPTABLE``)."""

    code = "PAYLOAD_UNDECRYPTABLE"


class PayloadKeyError(ValueError):
    """The payload key setting is malformed (``CONFIG_INVALID``)."""

    code = "CONFIG_INVALID"


@dataclasses.dataclass(frozen=True)
class PayloadKey:
    """One key of the codec: its id (written in each payload it encrypts) and 32 bytes."""

    id: str
    key: bytes = dataclasses.field(repr=False)


def parse_payload_keys(text: str, source: str) -> list[PayloadKey]:
    """Parses ``id=base64[,id2=base64…]`` (commas or newlines), or one bare base64 key (id ``k1``).

    The same format as ``parsePayloadKeys`` in ``src/config``; the first key encrypts.

    Raises:
        PayloadKeyError: naming ``source`` when an item is not a 32-byte key or an id repeats.
    """
    items = [item.strip() for item in re.split(r"[,\n]", text) if item.strip()]
    if not items:
        raise PayloadKeyError(f"{source} names no payload key")
    keys: list[PayloadKey] = []
    for index, item in enumerate(items):
        separator = item.find("=", 1)
        named = separator > 0 and bool(_KEY_ID.match(item[:separator])) and len(item) > separator + 1
        key_id = item[:separator] if named else f"k{index + 1}"
        encoded = item[separator + 1 :] if named else item
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if len(key) != 32 or not _BASE64.match(encoded):
            raise PayloadKeyError(f"{source}: key {index + 1} must be 32 bytes in base64 (`openssl rand -base64 32`)")
        keys.append(PayloadKey(key_id, key))
    if len({key.id for key in keys}) != len(keys):
        raise PayloadKeyError(f"{source}: payload key ids must differ")
    return keys


def payload_keys_from_env(env: dict[str, str] | None = None) -> list[PayloadKey]:
    """The keys of ``MAESTRO_PAYLOAD_KEY``, else of the file ``MAESTRO_PAYLOAD_KEY_FILE``.

    Raises:
        PayloadKeyError: when neither is set, or the keys are malformed.
    """
    environ = os.environ if env is None else env
    text = environ.get("MAESTRO_PAYLOAD_KEY", "").strip()
    if text:
        return parse_payload_keys(text, "MAESTRO_PAYLOAD_KEY")
    path = environ.get("MAESTRO_PAYLOAD_KEY_FILE", "").strip()
    if path:
        return parse_payload_keys(Path(path).read_text(encoding="utf-8"), "MAESTRO_PAYLOAD_KEY_FILE")
    raise PayloadKeyError(
        "set MAESTRO_PAYLOAD_KEY or MAESTRO_PAYLOAD_KEY_FILE: the Maestro worker's payload codec keys"
    )


class AesGcmPayloadCodec(PayloadCodec):
    """A Temporal :class:`PayloadCodec` encrypting with AES-256-GCM, as Maestro's TypeScript side does."""

    def __init__(self, keys: Sequence[PayloadKey]) -> None:
        if not keys:
            raise PayloadKeyError("the payload codec needs at least one key")
        self._current = keys[0]
        self._by_id = {key.id: AESGCM(key.key) for key in keys}

    @property
    def key_id(self) -> str:
        """The id of the key that encrypts."""
        return self._current.id

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(payload) for payload in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        """Encrypts one payload with the current key under a fresh random IV."""
        iv = os.urandom(IV_BYTES)
        sealed = self._by_id[self._current.id].encrypt(iv, payload.SerializeToString(), None)
        return Payload(
            metadata={
                "encoding": ENCRYPTED_ENCODING,
                KEY_ID_METADATA: self._current.id.encode(),
                CIPHER_METADATA: CIPHER,
            },
            data=iv + sealed,
        )

    def decrypt(self, payload: Payload) -> Payload:
        """Decrypts one payload; one that is not encrypted is returned as it is.

        Raises:
            PayloadUndecryptableError: for a payload of an unknown key, too short, or failing authentication.
        """
        if payload.metadata.get("encoding") != ENCRYPTED_ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode("utf-8", "replace")
        cipher = self._by_id.get(key_id)
        if cipher is None:
            raise PayloadUndecryptableError(
                f'payload encrypted with key "{key_id}", which is not configured '
                "(MAESTRO_PAYLOAD_KEY / MAESTRO_PAYLOAD_KEY_FILE)"
            )
        data = payload.data
        if len(data) < IV_BYTES + TAG_BYTES:
            raise PayloadUndecryptableError(f'payload of key "{key_id}" is too short to be a ciphertext')
        try:
            plain = cipher.decrypt(data[:IV_BYTES], data[IV_BYTES:], None)
        except InvalidTag as error:
            raise PayloadUndecryptableError(
                f'payload of key "{key_id}" fails authentication (altered, or a different key with the same id)'
            ) from error
        decoded = Payload()
        decoded.ParseFromString(plain)
        return decoded


def maestro_data_converter(keys: Sequence[PayloadKey]) -> DataConverter:
    """Temporal's default JSON data converter with Maestro's payload codec."""
    return dataclasses.replace(DataConverter.default, payload_codec=AesGcmPayloadCodec(keys))

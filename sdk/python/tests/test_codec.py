import asyncio
import base64
import json
from pathlib import Path

import pytest
from maestro_sdk.codec import (
    AesGcmPayloadCodec,
    PayloadKeyError,
    PayloadUndecryptableError,
    parse_payload_keys,
    payload_keys_from_env,
)
from temporalio.api.common.v1 import Payload

VECTOR = json.loads((Path(__file__).parent / "vectors" / "ts-payload.json").read_text())
KEY = base64.b64encode(bytes(range(32))).decode()


def payload_of(spec: dict[str, object]) -> Payload:
    metadata = spec["metadata"]
    assert isinstance(metadata, dict)
    data = spec["data"]
    assert isinstance(data, str)
    return Payload(metadata={k: base64.b64decode(v) for k, v in metadata.items()}, data=base64.b64decode(data))


def test_decrypts_a_payload_the_typescript_codec_made() -> None:
    codec = AesGcmPayloadCodec(parse_payload_keys(VECTOR["keys"], "vector"))
    [plain] = asyncio.run(codec.decode([payload_of(VECTOR["encrypted"])]))
    assert plain == payload_of(VECTOR["plain"])
    assert json.loads(plain.data) == {"greeting": "Hello, Ada! ✓"}


def test_refuses_a_flipped_byte_of_the_typescript_payload() -> None:
    codec = AesGcmPayloadCodec(parse_payload_keys(VECTOR["keys"], "vector"))
    for index in (0, 20, -1):
        altered = payload_of(VECTOR["encrypted"])
        data = bytearray(altered.data)
        data[index] ^= 1
        altered.data = bytes(data)
        with pytest.raises(PayloadUndecryptableError, match="fails authentication"):
            codec.decrypt(altered)


def test_round_trips_with_the_metadata_the_typescript_codec_writes() -> None:
    codec = AesGcmPayloadCodec(parse_payload_keys(f"a={KEY}", "test"))
    original = Payload(metadata={"encoding": b"json/plain"}, data=b'{"x":1}')
    [encrypted] = asyncio.run(codec.encode([original]))
    assert dict(encrypted.metadata) == {
        "encoding": b"binary/encrypted",
        "encryption-key-id": b"a",
        "encryption-cipher": b"AES-256-GCM",
    }
    assert len(encrypted.data) == 12 + len(original.SerializeToString()) + 16
    assert original.data not in encrypted.data
    assert asyncio.run(codec.decode([encrypted])) == [original]
    [again] = asyncio.run(codec.encode([original]))
    assert again.data[:12] != encrypted.data[:12], "a fresh IV each time"


def test_rotation_decrypts_with_an_older_key_and_refuses_an_unknown_one() -> None:
    other = base64.b64encode(bytes(32)).decode()
    old = AesGcmPayloadCodec(parse_payload_keys(f"old={KEY}", "test"))
    [encrypted] = asyncio.run(old.encode([Payload(metadata={"encoding": b"json/plain"}, data=b"1")]))
    rotated = AesGcmPayloadCodec(parse_payload_keys(f"new={other},old={KEY}", "test"))
    assert rotated.key_id == "new"
    assert rotated.decrypt(encrypted).data == b"1"
    with pytest.raises(PayloadUndecryptableError, match='key "old", which is not configured'):
        AesGcmPayloadCodec(parse_payload_keys(f"new={other}", "test")).decrypt(encrypted)
    short = Payload(metadata=dict(encrypted.metadata), data=b"123")
    with pytest.raises(PayloadUndecryptableError, match="too short"):
        rotated.decrypt(short)


def test_passes_through_a_payload_that_is_not_encrypted() -> None:
    codec = AesGcmPayloadCodec(parse_payload_keys(KEY, "test"))
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b"{}")
    assert codec.decrypt(plain) is plain


def test_parses_keys_as_parse_payload_keys_does(tmp_path: Path) -> None:
    keys = parse_payload_keys(f" a={KEY},\nb={KEY} ", "X")
    assert [key.id for key in keys] == ["a", "b"]
    assert [key.id for key in parse_payload_keys(f"{KEY},{KEY}", "X")] == ["k1", "k2"]
    assert KEY not in repr(keys[0]), "a key is never shown"
    for bad in ("", "a=short", f"a={KEY},a={KEY}", f"a={KEY[:-1]}!"):
        with pytest.raises(PayloadKeyError):
            parse_payload_keys(bad, "X")
    file = tmp_path / "keys"
    file.write_text(f"f={KEY}\n")
    assert payload_keys_from_env({"MAESTRO_PAYLOAD_KEY_FILE": str(file)})[0].id == "f"
    assert (
        payload_keys_from_env({"MAESTRO_PAYLOAD_KEY": f"e={KEY}", "MAESTRO_PAYLOAD_KEY_FILE": str(file)})[0].id == "e"
    )
    with pytest.raises(PayloadKeyError, match="MAESTRO_PAYLOAD_KEY"):
        payload_keys_from_env({})

"""The payload hash: stable whatever the key order, versioned so older stored hashes still match."""

from __future__ import annotations

from mappings.base import HASH_VERSION, content_hash, legacy_content_hash, same_content


def test_equal_payloads_hash_equal_whatever_the_key_order_at_any_depth() -> None:
    a = {"id": 1, "lines": [{"x": 1, "y": "2"}], "meta": {"b": True, "a": None}}
    b = {"meta": {"a": None, "b": True}, "lines": [{"y": "2", "x": 1}], "id": 1}
    assert content_hash(a) == content_hash(b)
    assert content_hash(a) != content_hash({**a, "id": 2})


def test_hash_fits_the_stored_column_and_says_its_version() -> None:
    digest = content_hash({"id": 1})
    assert len(digest) == 64 and digest.startswith(HASH_VERSION)


def test_a_stored_hash_of_the_first_kind_matches_the_same_payload_only() -> None:
    raw = {"id": 1, "name": "Acme"}
    assert same_content(legacy_content_hash(raw), content_hash(raw), raw)
    changed = {"id": 1, "name": "Acme Renamed"}
    assert not same_content(legacy_content_hash(raw), content_hash(changed), changed)
    assert not same_content(None, content_hash(raw), raw)


def test_an_encoded_payload_holds_its_bytes_not_the_encoders_buffer() -> None:
    import tracemalloc

    from mappings.base import encode

    raw = {f"field{i}": "value" * 3 for i in range(100)}
    tracemalloc.start()
    try:
        blobs = [encode(raw) for _ in range(50)]
        held = tracemalloc.get_traced_memory()[0] / len(blobs)
    finally:
        tracemalloc.stop()
    assert blobs[0] == encode(dict(reversed(raw.items())))
    assert held < len(blobs[0]) + 256  # orjson's own result holds ~16x its length here


def test_a_released_record_keeps_its_encoding_and_reads_its_payload_back() -> None:
    from mappings.base import MappedRecord

    raw = {"id": "7", "lines": [{"b": 2, "a": "1.50"}], "name": "Acme"}
    record = MappedRecord("7", None, {}, dict(raw))
    encoded, digest = record.encoded, record.content_hash
    record.release_raw()
    assert record.raw == {} and record.encoded is encoded and record.content_hash == digest
    assert record.payload == raw


def test_a_payloads_hash_is_the_one_stored_before_and_a_key_that_is_not_text_still_hashes() -> None:
    """Stored hashes stay valid: the digests of these payloads are the ones earlier versions stored
    (a changed encoding would make every stored record look changed on the next sync)."""
    raw = {"id": 1, "name": "Acme", "lines": [{"x": 1.5, "y": None}], "when": "2024-01-15T10:00:00Z"}
    assert content_hash(raw) == "v25bd1c824b14f2457d29075ac37c950232ef6041fd96d43b9ce66b2de75a15c"
    assert content_hash({1: "a", "b": 2}) == "v2e6864e9f9687622005ef2f635ba4d26b65db8637b4da3e51c9b92800ce9ee0"


def test_hashing_a_large_payload_keeps_the_gil_and_gives_the_same_sha256() -> None:
    """A sync's store thread hashes each record of a page while other threads decode and map the
    next: a hash that let the GIL go would wait behind them to take it back (hashlib lets it go
    from 2,048 bytes). With a switch interval no thread reaches here, another thread runs only
    when the hashing thread lets the GIL go; it never runs while big payloads are hashed, and the
    digests are SHA-256 of the canonical JSON, as stored before."""
    import hashlib
    import sys
    import threading

    from mappings.base import encode

    payloads = [{"id": i, "lines": [{"description": "x" * 1000, "no": n} for n in range(60)]} for i in range(50)]
    import time

    ran, started, done = threading.Event(), threading.Event(), threading.Event()

    def other() -> None:  # marks each turn it gets, and lets the GIL go at once
        started.set()
        while not done.is_set():
            ran.set()
            time.sleep(0)

    interval = sys.getswitchinterval()
    thread = threading.Thread(target=other)
    thread.start()
    started.wait()
    sys.setswitchinterval(1000.0)
    try:
        ran.clear()
        hashes = [content_hash(p) for p in payloads]
        ran_while_hashing = ran.is_set()
    finally:
        sys.setswitchinterval(interval)
        done.set()
        thread.join()
    assert not ran_while_hashing
    assert hashes == [HASH_VERSION + hashlib.sha256(encode(p)).hexdigest()[:62] for p in payloads]

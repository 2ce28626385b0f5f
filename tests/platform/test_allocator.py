"""The allocator tuning the sync uses: harmless to call any number of times, and off on request."""

from __future__ import annotations

import pytest

from hub.platform import allocator


def test_tune_and_trim_can_be_called_repeatedly() -> None:
    allocator.tune()
    allocator.tune()
    before = allocator.trims
    allocator.trim()
    assert allocator.trims in (before, before + 1)  # +1 where the C library is glibc


def test_off_switch_leaves_the_allocator_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASHRAIL_MALLOC_TUNING", "off")
    monkeypatch.setattr(allocator, "_libc", None)
    before = allocator.trims
    allocator.trim()
    assert allocator.trims == before


def test_streams_finishing_pages_together_share_one_trim() -> None:
    allocator.trim()  # glibc here: the count below moves once, not once per stream
    if not allocator._load():
        pytest.skip("not glibc: trim does nothing")
    before = allocator.trims
    for _ in range(5):
        allocator.trim(every=60.0)
    assert allocator.trims == before
    allocator.trim()  # the next page after the interval (or an explicit trim) trims again
    assert allocator.trims == before + 1

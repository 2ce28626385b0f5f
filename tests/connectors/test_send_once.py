"""connectors.http.send_once: a keyed write never makes two records, whatever answer is lost."""

from __future__ import annotations

import pytest

from connectors.http import ApiError, send_once


def lost() -> ApiError:
    return ApiError("read timeout", method="POST", path="/docs", maybe_applied=True)


class Remote:
    """A remote that stores under a key; ``fail`` says what each send does before (or after) storing."""

    def __init__(self, *fail: str) -> None:
        self.fail = list(fail)
        self.stored: list[str] = []
        self.lookups = 0

    def send(self) -> str:
        what = self.fail.pop(0) if self.fail else "ok"
        if what == "refused":
            raise ApiError("bad request", status_code=400)
        if what == "lost-before":
            raise lost()
        self.stored.append("doc")
        if what == "lost-after":
            raise lost()
        return "sent"

    def existing(self) -> str | None:
        self.lookups += 1
        return "found" if self.stored else None


def test_a_key_already_stored_is_not_sent_again():
    remote = Remote()
    remote.stored.append("doc")
    assert send_once(remote.send, remote.existing) == "found"
    assert remote.stored == ["doc"]


def test_a_lost_answer_after_the_write_is_found_by_its_key():
    remote = Remote("lost-after")
    assert send_once(remote.send, remote.existing) == "found"
    assert remote.stored == ["doc"]
    assert remote.lookups == 2


def test_a_write_that_never_arrived_is_sent_once_more():
    remote = Remote("lost-before")
    assert send_once(remote.send, remote.existing) == "sent"
    assert remote.stored == ["doc"]


def test_a_second_lost_answer_is_final_and_says_it_may_have_applied():
    remote = Remote("lost-before", "lost-before")
    with pytest.raises(ApiError) as caught:
        send_once(remote.send, remote.existing)
    assert caught.value.maybe_applied
    assert remote.lookups == 2


def test_a_refused_write_is_not_looked_up_or_retried():
    remote = Remote("refused")
    with pytest.raises(ApiError, match="bad request"):
        send_once(remote.send, remote.existing, look_first=False)
    assert remote.lookups == 0


def test_the_hook_hears_each_answer_that_may_have_applied():
    remote = Remote("lost-after")
    heard: list[ApiError] = []
    send_once(remote.send, remote.existing, look_first=False, on_maybe_applied=heard.append)
    assert [e.message for e in heard] == ["read timeout"]
    assert remote.lookups == 1

"""What a run's streams share: the card as the run opened it, read and decrypted once."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.sandbox.bms import SandboxServer
from hub.sync import cards, runner
from tests import factories


def test_a_runs_streams_decrypt_the_cards_secrets_once_and_each_still_signs_in(
    hub_db: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    opened: list[int] = []
    decrypt = cards.decrypt_secrets

    def counted(*args: Any, **kwargs: Any) -> Any:
        opened.append(1)
        return decrypt(*args, **kwargs)

    with SandboxServer(records=30, seed=3) as server:
        factories.active_bms_card(server.url, rate_limit_per_hour=0)
        monkeypatch.setattr(cards, "decrypt_secrets", counted)
        run = runner.begin_run("sandbox", "psa", full=True)
        assert run.id is not None
        names = runner.stream_names("bms")
        counts = {name: runner.sync_stream("sandbox", run.id, "psa", name, full=True) for name in names}
        runner.finish_run("sandbox", run.id, {name: c.as_dict() for name, c in counts.items()})
    assert len(names) >= 5 and all(c.fetched > 0 for c in counts.values())
    assert len(opened) == 1

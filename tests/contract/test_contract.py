"""What a user or an operator sees stays as it was: the CLI's command tree (every command's
help, options and rendered ``--help``), the API's OpenAPI document, the deployments' flows
and entrypoints, the schema's head revision and the strings the hub stores.

The expected files were taken from the code before the restructure (``snapshot.py``); a
change that alters any of them on purpose regenerates them and shows the diff for review.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.contract import snapshot


@pytest.fixture
def taken(data_dir: Path) -> dict[str, object]:
    return json.loads(json.dumps(snapshot.take(), sort_keys=True, default=str))


@pytest.mark.parametrize("name", snapshot.FILES)
def test_what_users_and_operators_see_is_unchanged(taken: dict[str, object], name: str) -> None:
    expected = json.loads((snapshot.HERE / name).read_text())
    actual = taken[name]
    if isinstance(expected, dict) and isinstance(actual, dict):
        missing = sorted(set(expected) - set(actual))
        added = sorted(set(actual) - set(expected))
        assert not missing and not added, f"{name}: missing {missing}, added {added}"
        changed = sorted(k for k in expected if expected[k] != actual[k])
        assert not changed, f"{name}: changed {changed}"
    assert actual == expected

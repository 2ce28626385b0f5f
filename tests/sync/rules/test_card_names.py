"""A connector card's name must be safe in a URL, a file name and a log line (issue 23)."""

from __future__ import annotations

import pytest

from hub.sync.rules.card_names import card_name_problem


@pytest.mark.parametrize("name", ["psa", "kaseya-bms", "bc2", "a" * 63])
def test_slug_names_are_accepted(name: str) -> None:
    assert card_name_problem(name) is None


@pytest.mark.parametrize("name", ["", "  ", "Kaseya BMS", "psa/../users", "2psa", "-psa", "psa?x=1", "naïve",
                                  "a" * 64, "UPPER"])
def test_names_that_would_break_a_link_or_a_path_are_refused_with_the_rule(name: str) -> None:
    problem = card_name_problem(name)
    assert problem is not None
    assert "needs a name" in problem or "lowercase letters, digits and dashes" in problem

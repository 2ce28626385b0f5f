"""Schema contracts: when quarantined records fail a stream instead of passing silently."""

from __future__ import annotations

from hub.sync.rules.contracts import ContractWatch


def test_a_stream_whose_every_record_fails_mapping_breaches_its_contract() -> None:
    watch = ContractWatch()
    watch.page(100, [("AccountName", "missing")] * 100)
    assert watch.breached
    assert "100 of 100" in watch.describe("organisations") and "AccountName: missing (100×)" in watch.describe(
        "organisations")


def test_a_few_bad_records_under_the_threshold_are_quarantined_without_failing_the_stream() -> None:
    watch = ContractWatch()
    for _ in range(5):
        watch.page(20, [("ModifiedOn", "not a date")])  # 5 of 100 = 5%: not over 5%
    assert not watch.breached
    watch.page(20, [("ModifiedOn", "not a date")])  # 6 of 120 = 5.0%: still not over
    assert not watch.breached
    watch.page(1, [("Id", "missing")])  # a page whose every record failed
    assert watch.breached


def test_more_than_the_threshold_of_a_runs_records_breaches_and_names_the_three_commonest_reasons() -> None:
    watch = ContractWatch(threshold_percent=10)
    watch.page(50, [("a", "x")] * 4 + [("b", "y")] * 3 + [(None, "shape")] * 2 + [("c", "z")])
    assert watch.breached  # 10 of 50 = 20%
    assert watch.top() == [("a", "x", 4), ("b", "y", 3), (None, "shape", 2)]
    assert "over the 10% threshold" in watch.describe("s") and "c: z" not in watch.describe("s")
    assert not ContractWatch().breached

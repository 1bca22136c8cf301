"""The offline segment report: forward purchase rates, spread and daily churn on a crafted replay."""

from scorer.segments import segment_report

DAY = 86_400_000


def test_rates_spread_and_churn_on_a_crafted_replay():
    history = []
    purchases = {}
    # Ten buyers in segment A buy every other day; ten in B never buy; one user moves A -> B on day 15.
    for i in range(10):
        history.append((f"a{i}", 0, "A", 0))
        purchases[f"a{i}"] = [day * DAY + 1 for day in range(1, 30, 2)]
        history.append((f"b{i}", 0, "B", 1))
    history += [("mover", 0, "A", 0), ("mover", 15 * DAY + 5, "B", 1)]
    report = segment_report(history, purchases, 0, 30 * DAY, warm_fraction=0.2)
    rows = {row["segment"]: row for row in report["rfm"]["segments"]}
    assert rows["A"]["purchase_rate_7d"] > 0.9 and rows["B"]["purchase_rate_7d"] == 0.0
    assert [row["segment"] for row in report["rfm"]["segments"]] == ["A", "B"]
    # A rate of 0 counts as half a purchase: the spread is finite and large.
    assert report["rfm"]["spread"] > 50
    # One change over the active user-days of the warm days 7..30: the twenty users updated on
    # day 0 are active through day 29 (23 warm days), the mover, updated again on day 15, all 24.
    assert abs(report["clusters"]["daily_churn"] - 1 / (20 * 23 + 24)) < 1e-12
    # Users are held at a cutoff only while the state would hold them (TTL after their last update).
    short = segment_report(history, purchases, 0, 30 * DAY, warm_fraction=0.2, ttl_days=3)
    assert short["rfm"]["observations"] < report["rfm"]["observations"]


def test_users_without_a_cluster_are_in_no_row_and_their_first_cluster_is_no_change():
    history = []
    for i in range(10):
        # Warming up until day 2, then in cluster 0 (or 1) for good.
        history += [(f"a{i}", 0, "A", None), (f"a{i}", 2 * DAY, "A", 0)]
        history += [(f"b{i}", 0, "B", None), (f"b{i}", 9 * DAY, "B", 1)]
    report = segment_report(history, {}, 0, 30 * DAY, warm_fraction=0.2)
    assert {row["segment"] for row in report["clusters"]["segments"]} == {"0", "1"}
    assert report["clusters"]["daily_churn"] == 0.0
    assert report["rfm"]["observations"] > report["clusters"]["observations"]

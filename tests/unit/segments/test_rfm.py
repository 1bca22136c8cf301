"""RFM scores on a crafted history, through the real feature state."""

from scorer.events import ClickEvent, PurchaseEvent, PurchaseItem
from scorer.features import UserState
from scorer.segments import RfmQuantiles, SegmentModel, name_of

DAY = 86_400_000
T0 = 1_700_000_000_000


def buy(user: str, n: int, ts: int, amount: float) -> PurchaseEvent:
    return PurchaseEvent(f"{user}-p{n}", user, ts, f"{user}-o{n}", (PurchaseItem("i1", amount),))


def replay(model: SegmentModel, events) -> dict[str, list]:
    states: dict[str, UserState] = {}
    fields: dict[str, list] = {}
    for event in sorted(events, key=lambda e: e.ts):
        state = states.setdefault(event.user_id, UserState())
        state.update(event)
        fields[event.user_id], _ = model.observe(fields.get(event.user_id), event, state)
    return fields


def test_quintile_scores_follow_the_learned_distribution():
    rfm = RfmQuantiles()
    for value in range(1, 501):
        rfm.learn(float(value), float(value), float(value))
    # Cut points near 100, 200, 300, 400: each score is the quintile a value falls in.
    assert rfm.scores(50.0, 50.0, 50.0) == (5, 1, 1)
    assert rfm.scores(250.0, 250.0, 250.0) == (3, 3, 3)
    assert rfm.scores(450.0, 450.0, 450.0) == (1, 5, 5)


def test_a_crafted_history_lands_each_customer_in_their_segment():
    events = []
    # A crowd of ordinary customers: two orders a month apart, modest spend. They set the quantiles.
    for i in range(60):
        user = f"crowd{i}"
        events += [buy(user, 1, T0 + i * 1000, 20.0 + i % 7), buy(user, 2, T0 + 30 * DAY + i * 1000, 20.0 + i % 5)]
    # A champion buys weekly and spends a lot; a lapsed big customer bought often, then came back after months.
    events += [buy("champ", n, T0 + 40 * DAY + n * 2 * DAY, 300.0) for n in range(8)]
    events += [buy("lapsed", n, T0 + n * DAY, 200.0) for n in range(6)] + [buy("lapsed", 6, T0 + 200 * DAY, 200.0)]
    events += [buy("once", 1, T0 + 50 * DAY, 25.0)]
    events += [ClickEvent("look", "browser", T0 + 50 * DAY, "product_view", item_id="i1")]
    fields = replay(SegmentModel(), events)
    describe = SegmentModel().describe
    champ, lapsed = describe(fields["champ"])["rfm"], describe(fields["lapsed"])["rfm"]
    assert champ == {"segment": "champions", "r": 5, "f": 5, "m": 5}
    assert lapsed["segment"] == "at_risk" and lapsed["r"] == 1 and lapsed["f"] == 5
    assert describe(fields["once"])["rfm"]["segment"] == "new"
    assert describe(fields["browser"])["rfm"] == {"segment": "prospects", "r": 0, "f": 0, "m": 0}


def test_every_score_combination_has_a_name():
    names = {name_of(r, f, m, orders=5) for r in range(1, 6) for f in range(1, 6) for m in range(1, 6)}
    assert names == {"champions", "loyal", "promising", "need_attention", "at_risk", "hibernating"}

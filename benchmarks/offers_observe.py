"""Cost of the offer model's observe per event: decisions (trigger events) and everything else, in process CPU time.

Run: python benchmarks/offers_observe.py (60,000 simulated events, the simulator's catalogue, default settings).
"""
import time
from scorer.datasets import TrafficGenerator, offer_truth
from scorer.events import decode_click, decode_purchase
from scorer.features import UserState
from scorer.offers import Catalogue, Offer
from scorer.settings import Settings
from scorer.worker import make_offer_model
import orjson
gen = TrafficGenerator(users=1000, items=500, seed=42); truth = offer_truth(gen)
events = [(decode_click if k == "click" else decode_purchase)(orjson.dumps(e)) for k, e in gen.take(60_000)]
states, fields = {}, {}
m = make_offer_model(Settings(), Catalogue([Offer.from_dict(e) for e in truth["catalogue"]]))
pairs = []
for e in events:
    s = states.setdefault(e.user_id, UserState()); s.update(e); pairs.append((e, s))
t_dec = t_other = 0.0; n_dec = n_other = 0
for e, s in pairs:
    t = time.process_time_ns()
    f, d = m.observe(fields.get(e.user_id), e, s)
    dt = time.process_time_ns() - t
    fields[e.user_id] = f
    if d is None: t_other += dt; n_other += 1
    else: t_dec += dt; n_dec += 1
print(f"decisions {n_dec}: {t_dec/n_dec/1000:.1f} us each; other events {n_other}: {t_other/n_other/1000:.2f} us each (process CPU time)")

"""Per-user models beside propensity (segments, lifetime value): what the engine asks of them.

The engine keeps each model's per-user fields in the user's record under the
model's ``name`` and calls :meth:`UserModel.observe` after every event it folds
in (never for an opted-out user, a repeated event id or a replay). Whatever
``observe`` returns besides the fields is an output to publish, keyed by user,
on the model's output topic (``Settings.topic_scores_<name>``); an erasure
publishes a tombstone there. Global state (quantiles, cluster centres, fitted
parameters) lives in the model object; :meth:`forget_user` removes any trace of
an erased user from it. A model may also have ``dimensions(fields) -> dict[str, str]``:
the user's values of quality dimensions (the RFM segment), with which each scored
click's live quality is cut, beside new/returning, device and channel.

>>> from scorer.events import ClickEvent
>>> from scorer.features import UserState
>>> class Visits:
...     name = "visits"
...     def observe(self, fields, event, state):
...         count = (fields or 0) + 1
...         return count, (count if count % 2 == 0 else None)
...     def forget_user(self, user_id):
...         pass
...     def describe(self, fields):
...         return {"visits": fields}
>>> model: UserModel = Visits()
>>> fields, out = model.observe(None, ClickEvent("e1", "u1", 1, "page_view"), UserState())
>>> model.observe(fields, ClickEvent("e2", "u1", 2, "page_view"), UserState())
(2, 2)
"""

from __future__ import annotations

from typing import Any, Protocol

from scorer.events import ClickEvent, PurchaseEvent
from scorer.features import UserState


class UserModel(Protocol):
    """A model the engine keeps current per user, in event time, from the user's own events."""

    #: Key of the model's fields in :attr:`UserRecord.extras`, and the suffix of its output topic setting.
    name: str

    def observe(self, fields: Any, event: ClickEvent | PurchaseEvent, state: UserState) -> tuple[Any, Any]:
        """Fold ``event`` in; ``fields`` is None for a user new to this model.

        ``state`` is the user's feature state with the event already folded in.
        Returns the new fields (JSON-serialisable: they are stored in the record)
        and an output to publish, or None when nothing changed worth publishing.
        Outputs have a ``payload(published_at_ms) -> bytes`` method.
        """
        ...

    def forget_user(self, user_id: str) -> None:
        """Remove an erased user from any global state."""
        ...

    def describe(self, fields: Any) -> dict:
        """The user's fields as shown on ``GET /users/{id}``."""
        ...

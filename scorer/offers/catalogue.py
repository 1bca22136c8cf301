"""The offer catalogue: which offers exist, which are live, and who may see each.

Entries arrive on the compacted ``offers`` topic keyed by offer id (a tombstone, or
``"active": false``, withdraws one) and can change at run time; an empty catalogue
switches the feature off. Eligibility is optional and by the category the user is
looking at or by their segment: an offer with neither list is open to everyone.

>>> catalogue = Catalogue()
>>> catalogue.apply(Offer.from_dict({"offer_id": "free_shipping", "attributes": {"kind": "shipping"}}))
>>> catalogue.apply(Offer.from_dict({"offer_id": "tv_bundle", "categories": ["electronics"]}))
>>> catalogue.eligible("books", "new")
('free_shipping',)
>>> catalogue.eligible("electronics", "new")
('free_shipping', 'tv_bundle')
>>> catalogue.apply(Offer.from_dict({"offer_id": "free_shipping", "active": False}))
>>> catalogue.eligible("books", "new")
()
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Catalogue", "InvalidOffer", "Offer"]


class InvalidOffer(ValueError):
    """A catalogue entry that does not follow ``offer.schema.json``."""


@dataclass(frozen=True, slots=True)
class Offer:
    """One catalogue entry (``offer.schema.json``)."""

    offer_id: str
    active: bool = True
    #: Categories whose viewers may get the offer; None means every category.
    categories: frozenset[str] | None = None
    #: Segments that may get the offer; None means every segment.
    segments: frozenset[str] | None = None
    attributes: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, value: Any) -> Offer:
        """Parse a decoded catalogue entry; raises :class:`InvalidOffer`."""
        if not isinstance(value, dict):
            raise InvalidOffer("a catalogue entry is a JSON object")
        offer_id = value.get("offer_id")
        if not isinstance(offer_id, str) or not 1 <= len(offer_id) <= 256:
            raise InvalidOffer("offer_id must be a string of 1-256 characters")
        active = value.get("active", True)
        if not isinstance(active, bool):
            raise InvalidOffer("active must be a boolean")
        attributes = value.get("attributes", {})
        if not isinstance(attributes, dict):
            raise InvalidOffer("attributes must be an object")
        return cls(offer_id, active, _names(value, "categories"), _names(value, "segments"), attributes)

    def allows(self, category: str | None, segment: str) -> bool:
        """Whether a user in ``segment`` looking at ``category`` may get this offer."""
        if self.categories is not None and category not in self.categories:
            return False
        return self.segments is None or segment in self.segments

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"offer_id": self.offer_id, "active": self.active, "attributes": self.attributes}
        if self.categories is not None:
            out["categories"] = sorted(self.categories)
        if self.segments is not None:
            out["segments"] = sorted(self.segments)
        return out


def _names(value: dict, key: str) -> frozenset[str] | None:
    names = value.get(key)
    if names is None:
        return None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise InvalidOffer(f"{key} must be a list of strings")
    return frozenset(names)


class Catalogue:
    """The live offers, by id; :meth:`eligible` is what a decision chooses among."""

    def __init__(self, offers: list[Offer] | None = None) -> None:
        self.offers: dict[str, Offer] = {}
        self.version = 0
        # Open offers (no eligibility lists) are the common case: their ids, kept sorted, need no check.
        self._open: tuple[str, ...] = ()
        self._restricted: tuple[Offer, ...] = ()
        for offer in offers or ():
            self.apply(offer)

    def apply(self, offer: Offer) -> None:
        """Add, change or (``active`` False) withdraw an offer."""
        if offer.active:
            self.offers[offer.offer_id] = offer
        else:
            self.offers.pop(offer.offer_id, None)
        self._reindex()

    def remove(self, offer_id: str) -> None:
        """A tombstone on the catalogue topic."""
        self.offers.pop(offer_id, None)
        self._reindex()

    def _reindex(self) -> None:
        self.version += 1
        live = sorted(self.offers.values(), key=lambda o: o.offer_id)
        self._open = tuple(o.offer_id for o in live if o.categories is None and o.segments is None)
        self._restricted = tuple(o for o in live if o.categories is not None or o.segments is not None)

    def __len__(self) -> int:
        return len(self.offers)

    def eligible(self, category: str | None, segment: str) -> tuple[str, ...]:
        """Ids of the live offers this user may get now, sorted."""
        if not self._restricted:
            return self._open
        extra = [o.offer_id for o in self._restricted if o.allows(category, segment)]
        return tuple(sorted(self._open + tuple(extra))) if extra else self._open

"""Customer segments, live: RFM scores from online quantiles and behavioural clusters from River.

A model room: imports only ``scorer.events`` (and river). The engine hands
:class:`SegmentModel` each user's feature state after every event (the
:class:`~scorer.scoring.UserModel` hook); the model reads its public attributes
(``orders``, ``monetary``, ``last_purchase_ts``, ``sessions_total``,
``current_x()``) and publishes the user's segments when one of them changes.
:mod:`scorer.segments.evaluation` measures how well segments separate future
purchases and how often users move between them.
"""

from scorer.segments.clusters import Clusters
from scorer.segments.evaluation import segment_report
from scorer.segments.model import CLUSTER_FEATURES, SegmentModel, SegmentObservation
from scorer.segments.rfm import RFM_SEGMENTS, RfmQuantiles, name_of

__all__ = ["CLUSTER_FEATURES", "Clusters", "RFM_SEGMENTS", "RfmQuantiles", "SegmentModel", "SegmentObservation", "name_of", "segment_report"]

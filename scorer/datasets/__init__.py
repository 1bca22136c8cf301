"""Recorded and synthetic input in the v1 contract: public dataset files and generated traffic.

Pure (events only): readers yield events in event-time order and never touch Kafka; the
tools send them to topics or through the offline evaluation.
"""

from scorer.datasets.files import FORMATS, DatasetError, EventFile, Recording, detect_format, read_events
from scorer.datasets.synthetic import BRANDS, CATEGORIES, CHANNELS, DEVICES, START_MS, TrafficGenerator
from scorer.datasets.synthetic import SIMULATED_OFFERS, SimulatedOffer, offer_truth
from scorer.datasets.obd import ObdLog, read_obd

__all__ = [
    "BRANDS",
    "CATEGORIES",
    "CHANNELS",
    "DEVICES",
    "DatasetError",
    "EventFile",
    "FORMATS",
    "ObdLog",
    "SIMULATED_OFFERS",
    "Recording",
    "START_MS",
    "SimulatedOffer",
    "TrafficGenerator",
    "detect_format",
    "offer_truth",
    "read_obd",
    "read_events",
]

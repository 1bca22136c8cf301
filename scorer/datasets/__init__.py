"""Recorded and synthetic input in the v1 contract: public dataset files and generated traffic.

Pure (events only): readers yield events in event-time order and never touch Kafka; the
tools send them to topics or through the offline evaluation.
"""

from scorer.datasets.files import FORMATS, DatasetError, EventFile, Recording, detect_format, read_events
from scorer.datasets.synthetic import BRANDS, CATEGORIES, CHANNELS, DEVICES, START_MS, TrafficGenerator

__all__ = [
    "BRANDS",
    "CATEGORIES",
    "CHANNELS",
    "DEVICES",
    "DatasetError",
    "EventFile",
    "FORMATS",
    "Recording",
    "START_MS",
    "TrafficGenerator",
    "detect_format",
    "read_events",
]

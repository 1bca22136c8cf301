"""``scorer bench``: throughput, latency, memory and state size, measured and printed.

``run`` measures the Faust ceiling, the full worker, the plain confluent-kafka loop and
latency under load; ``ceiling`` is the bare agent it runs as a child process. Nothing
here asserts a speed: it measures and prints.
"""

from scorer._faces import lazy_face

# Imported on first use: a benchmark pulls in the worker and the tools, which the rest of the CLI does not need.
_EXPORTS = {
    "measure_ceiling": "run",
    "measure_latency": "run",
    "measure_plain_loop": "run",
    "measure_worker": "run",
    "run_bench": "run",
    "synthetic_clicks": "catalogue",
    "zipf_index": "catalogue",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_face(__name__, globals(), _EXPORTS)

"""The Faust ceiling for ``scorer bench``: a bare agent that decodes and discards.

Run as ``python -m scorer.bench.ceiling BROKER GROUP EXPECTED TOPIC...``; prints
one JSON line with the time from the first to the last of EXPECTED messages.
"""

from __future__ import annotations

import sys
import time

import faust
import orjson


def main() -> None:
    broker, group, expected_text, *topics = sys.argv[1:]
    expected = int(expected_text)
    app = faust.App(
        group,
        broker=f"kafka://{broker}",
        store="memory://",
        web_enabled=False,
        topic_disable_leader=True,
        broker_session_timeout=6.0,
        broker_heartbeat_interval=1.0,
        consumer_auto_offset_reset="earliest",
    )
    inputs = app.topic(*topics, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
    seen = 0
    first = 0.0

    @app.agent(inputs)
    async def discard(stream: faust.StreamT) -> None:
        nonlocal seen, first
        async for event in stream.events():
            if not seen:
                first = time.perf_counter()
            orjson.loads(event.message.value)
            seen += 1
            if seen == expected:
                # The parent reads this line and stops the process.
                print(orjson.dumps({"messages": seen, "seconds": time.perf_counter() - first}).decode(), flush=True)

    # Faust would otherwise send print() to its log; the parent reads stdout.
    faust.Worker(app, loglevel="warning", quiet=True, redirect_stdouts=False).execute_from_commandline()


if __name__ == "__main__":
    main()

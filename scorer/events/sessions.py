"""What a session is, for every room that counts them: one definition, one gap.

When producers send a ``session_id``, it decides: an event with a different id opens a
new session, and one with the same id continues it however long the pause (the producer
knows its sessions best; YooChoose's and REES46's ids are the sessions their next-item
figures are measured on). Events without one (purchases never carry one, and datasets
such as Taobao's have none) open a new session after more than :data:`SESSION_GAP_S`
(30 minutes of event time, the common web-analytics convention) of inactivity. The
features (``session_*`` counts) and the recommender (the items a session has seen) both
ask :func:`starts_new_session`, so a session means the same thing to both.

>>> starts_new_session(None, None, None, 1_000)  # a user's first event
True
>>> starts_new_session("s1", 1_000, "s1", 61_000), starts_new_session("s1", 1_000, "s2", 2_000)
(False, True)
>>> starts_new_session("s1", 0, "s1", 5 * 3_600_000)  # the id decides when there is one
False
>>> starts_new_session(None, 0, None, 1_800_000), starts_new_session(None, 0, None, 1_800_001)
(False, True)
"""

from __future__ import annotations

__all__ = ["SESSION_GAP_S", "starts_new_session"]

#: Inactivity, in seconds of event time, after which the next event opens a new session.
SESSION_GAP_S = 1_800.0


def starts_new_session(
    current_id: str | None,
    last_ts: int | None,
    session_id: str | None,
    ts: int,
    gap_ms: int = int(SESSION_GAP_S * 1000),
) -> bool:
    """Whether an event at ``ts`` (ms) with ``session_id`` opens a new session.

    ``current_id`` and ``last_ts`` describe the user's session so far (``last_ts`` None:
    the user has none). A present session id decides by itself; without one, more than
    ``gap_ms`` since the session's latest event starts a new session.
    """
    if last_ts is None:
        return True
    if session_id is not None:
        return session_id != current_id
    return ts - last_ts > gap_ms

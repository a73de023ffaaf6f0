"""The tokens of log pages.

- One replica (`logs/poll`, `logs/follow`): `submission:offset`, the position of a line; a reader
  goes on after it (or, descending, before it).
- Every replica (`logs/poll_all_replicas`): `replica:submission:offset,...`, for each replica a
  boundary between lines: the lines at or after it come later, the lines before it earlier. The
  boundary after a line (s, o) is (s, o + 1), since offsets are whole numbers; a client that keeps
  a window of lines can so make the tokens of its edges from the lines themselves. A replica that
  a token leaves out is read from its first line going forwards, and not at all going backwards
  (it had no lines earlier than the token's boundaries).
"""

from __future__ import annotations

import re

from api.errors import ApiError
from api.fields import LOG_TOKEN_PATTERN, REPLICAS_LOG_TOKEN_PATTERN
from store.logs import Position

# Where each replica's lines are divided: replica_num -> (submission_num, offset).
Boundaries = dict[int, Position]


def encode_token(submission_num: int, offset: int) -> str:
    return f"{submission_num}:{offset}"


def decode_token(token: str) -> Position:
    """The (submission, offset) cursor; the pattern keeps both within their database columns."""
    if re.fullmatch(LOG_TOKEN_PATTERN, token) is None:
        raise ApiError(400, "next_token: not a token returned by logs/poll", "next_token")
    submission, offset = token.split(":")
    return int(submission), int(offset)


def encode_boundaries(boundaries: Boundaries) -> str | None:
    if not boundaries:
        return None
    return ",".join(f"{replica}:{submission}:{offset}" for replica, (submission, offset) in sorted(boundaries.items()))


def decode_boundaries(token: str) -> Boundaries:
    """Each replica's boundary; the pattern bounds replica numbers as the requests do."""
    if re.fullmatch(REPLICAS_LOG_TOKEN_PATTERN, token) is None:
        raise ApiError(400, "next_token: not a token returned by logs/poll_all_replicas", "next_token")
    boundaries: Boundaries = {}
    for entry in token.split(","):
        replica, submission, offset = (int(part) for part in entry.split(":"))
        boundaries[replica] = (submission, offset)
    return boundaries

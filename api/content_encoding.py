"""Which content coding of a response to send, from a request's Accept-Encoding (RFC 9110 12.5.3).

The UI's files are compressed once at build time (ui/precompress.ts writes FILE.br and FILE.gz);
the server only picks one of them, or the file itself."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

# Best first: brotli is about a fifth smaller than gzip on the UI's script and stylesheet.
ENCODINGS: dict[str, str] = {"br": ".br", "gzip": ".gz"}


def accepted_codings(accept_encoding: str | None) -> dict[str, float]:
    """Each coding the header names, with its weight (1 when unweighted)."""
    weights: dict[str, float] = {}
    for part in (accept_encoding or "").split(","):
        coding, *parameters = (piece.strip() for piece in part.split(";"))
        if not coding:
            continue
        weight = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0  # a malformed weight accepts nothing rather than guessing
        weights[coding.lower()] = weight
    return weights


def preferred_coding(accept_encoding: str | None, offered: Sequence[str]) -> str | None:
    """The best of `offered` (in the server's order) that the header accepts with a weight above
    zero, by the highest weight; None: send the representation as it is."""
    weights = accepted_codings(accept_encoding)
    accepted = [(weights.get(coding, weights.get("*", 0.0)), -rank, coding) for rank, coding in enumerate(offered)]
    best = max((choice for choice in accepted if choice[0] > 0), default=None)
    return best[2] if best else None


def precompressed_variants(path: Path) -> dict[str, Path]:
    """The codings of `path` written beside it (FILE.br, FILE.gz), if not older than the file."""
    variants: dict[str, Path] = {}
    try:
        modified = path.stat().st_mtime
    except OSError:
        return variants
    for coding, suffix in ENCODINGS.items():
        variant = path.with_name(path.name + suffix)
        try:
            if variant.stat().st_mtime >= modified:
                variants[coding] = variant
        except OSError:
            continue
    return variants

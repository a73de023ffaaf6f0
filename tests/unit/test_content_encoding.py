"""Choosing a content coding from Accept-Encoding, and finding a file's precompressed variants."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from api.content_encoding import accepted_codings, precompressed_variants, preferred_coding

BOTH = ["br", "gzip"]


@pytest.mark.parametrize(("header", "expected"), [
    ("gzip, deflate, br, zstd", "br"),  # Chromium's
    ("gzip, deflate", "gzip"),
    ("br;q=0.5, gzip", "gzip"),  # the client's weights come first
    ("br;q=0, gzip;q=0", None),
    ("*", "br"),
    ("*;q=0.1, br;q=0", "gzip"),
    ("identity", None),
    ("", None),
    (None, None),
    ("GZIP", "gzip"),
    ("gzip;q=nonsense", None),
])
def test_preferred_coding(header: str | None, expected: str | None) -> None:
    assert preferred_coding(header, BOTH) == expected


def test_only_offered_codings_are_chosen() -> None:
    assert preferred_coding("br, gzip", ["gzip"]) == "gzip"
    assert preferred_coding("br", ["gzip"]) is None


def test_accepted_codings_reads_weights() -> None:
    assert accepted_codings("gzip;q=0.8, br ; q=1.0, deflate") == {"gzip": 0.8, "br": 1.0, "deflate": 1.0}


def test_variants_beside_the_file_and_not_older(tmp_path: Path) -> None:
    script = tmp_path / "index.js"
    script.write_text("x")
    (tmp_path / "index.js.gz").write_bytes(b"gz")
    assert precompressed_variants(script) == {"gzip": tmp_path / "index.js.gz"}
    brotli = tmp_path / "index.js.br"
    brotli.write_bytes(b"br")
    stale = script.stat().st_mtime - 10
    os.utime(brotli, (stale, stale))  # left over from an older build: not this file's
    assert precompressed_variants(script) == {"gzip": tmp_path / "index.js.gz"}
    assert precompressed_variants(tmp_path / "missing.js") == {}

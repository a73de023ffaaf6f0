"""The HTTP API (Litestar): thin controllers over services; every endpoint needs a token."""

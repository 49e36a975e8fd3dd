"""Byte framing and decoding per device family (pure: no sockets, clocks, DBs)."""

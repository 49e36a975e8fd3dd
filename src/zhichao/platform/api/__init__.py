"""The platform's HTTP API, one router module per resource (docs/protocol.md)."""

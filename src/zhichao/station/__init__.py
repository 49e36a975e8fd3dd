"""A station: devices + lane + local store + uplink to the platform."""

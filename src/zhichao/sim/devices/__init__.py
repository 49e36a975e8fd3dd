"""Simulated lane devices that speak the same bytes as the real ones.

Each simulator is a real endpoint: the indicator writes to a pseudo-terminal,
the camera posts over HTTP, the relay is a Modbus TCP server, the screen and the
axle identifier are TCP servers. The station cannot tell them from hardware.
"""

"""The pass state machine of one weighbridge lane, driven by events and a clock."""

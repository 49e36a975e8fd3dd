"""Reports built from platform data."""

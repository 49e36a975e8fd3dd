"""Serial, TCP and HTTP listeners: the only code that talks to devices."""

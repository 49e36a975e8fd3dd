"""Device and traffic simulators that speak the real protocols."""

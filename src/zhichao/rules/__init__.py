"""Legal gross-mass limits and verdicts (pure; imports nothing of zhichao's)."""

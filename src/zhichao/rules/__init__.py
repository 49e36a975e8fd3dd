"""Legal gross-mass limits and verdicts (pure; imports nothing of zhichao's)."""

from zhichao.rules.table import default_table
from zhichao.rules.verdict import VehicleInput, Verdict, check

RULES_VERSION: str = default_table().version

__all__ = ["RULES_VERSION", "VehicleInput", "Verdict", "check"]

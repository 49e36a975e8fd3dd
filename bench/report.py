"""The markdown table of a run's headline figures."""


def markdown(results: dict) -> str:
    return "(table pending)"

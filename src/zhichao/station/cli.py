"""``zhichao station``: run and manage a weighbridge station."""

import click


@click.group()
def station() -> None:
    """Run and manage a weighbridge station (称重站)."""

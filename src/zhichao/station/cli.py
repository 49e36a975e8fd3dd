"""``zhichao station``: run and manage a weighbridge station."""

import asyncio
import contextlib
import logging

import click

from zhichao.errors import ConfigError

logger = logging.getLogger(__name__)


@click.group()
def station() -> None:
    """Run and manage a weighbridge station (称重站)."""


@station.command("check-config")
@click.argument("config", type=click.Path(dir_okay=False))
def check_config(config: str) -> None:
    """Validate a station configuration file and say what is wrong."""
    from zhichao.station.config import load_settings

    try:
        settings = load_settings(config)
    except ConfigError as err:
        raise click.ClickException(str(err)) from err
    click.echo(
        f"{config}: station {settings.station_code}, {len(settings.lanes)} lane(s), OK"
    )


@station.command("run")
@click.option(
    "--config",
    "config",
    required=True,
    type=click.Path(dir_okay=False),
    help="The station's TOML configuration file.",
)
def run(config: str) -> None:
    """Run the station's lanes until interrupted (Ctrl-C)."""
    from zhichao.station.config import load_settings
    from zhichao.station.runtime import Station

    try:
        settings = load_settings(config)
    except ConfigError as err:
        raise click.ClickException(str(err)) from err

    async def main() -> None:
        st = Station(settings)
        await st.start()
        try:
            await asyncio.Event().wait()
        finally:
            await st.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())

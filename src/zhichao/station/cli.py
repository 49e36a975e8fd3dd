"""``zhichao station``: run and manage a weighbridge station."""

import asyncio
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


@station.command("init")
@click.option(
    "--config",
    "config",
    required=True,
    type=click.Path(dir_okay=False),
    help="The station's TOML configuration file.",
)
def init(config: str) -> None:
    """Create each lane's signing key and print its enrolment code."""
    from zhichao.station.config import load_settings
    from zhichao.station.keys import init_keys

    try:
        settings = load_settings(config)
        keys = init_keys(settings)
    except (ConfigError, OSError) as err:
        raise click.ClickException(str(err)) from err
    for lane in keys:
        state = (
            "新密钥 new key" if lane.created else "已有密钥，未改动 existing key kept"
        )
        click.echo(f"车道 lane {lane.lane_no}: {state} ({lane.path})")
        click.echo(f"  登记码 enrolment code: {lane.enrolment.code}")
        click.echo(f"  密钥指纹 key fingerprint: {lane.fingerprint}")
    click.echo(
        "\n请将每条车道的登记码交县级治超平台登记，并通过电话核对密钥指纹。\n"
        "Give each lane's enrolment code to the county platform officer, who "
        "registers it (`zhichao platform enroll-station CODE` or the enrolment "
        "page); confirm the fingerprint with them by phone. Until a lane is "
        "enrolled the platform refuses its records and the station keeps them."
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
    from zhichao.station.keys import load_lane_keys
    from zhichao.station.runtime import Station
    from zhichao.tasks import run_until_stopped

    try:
        settings = load_settings(config)
        with open(config, "rb") as fh:
            config_bytes = fh.read()
        load_lane_keys(settings)  # refuse a lane without a key before starting
    except (ConfigError, OSError) as err:
        raise click.ClickException(str(err)) from err

    async def main() -> None:
        st = Station(settings, config_bytes=config_bytes)
        await st.start()
        try:
            await asyncio.Event().wait()
        finally:
            await st.stop()

    run_until_stopped(main())


@station.command("operator-password")
def operator_password() -> None:
    """Ask for the operator page's password; print its argon2id hash."""
    from zhichao.station.operator import hash_password

    password = click.prompt(
        "Operator password / 操作员密码", hide_input=True, confirmation_prompt=True
    )
    click.echo(hash_password(password))

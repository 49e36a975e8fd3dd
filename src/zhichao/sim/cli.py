"""``zhichao demo``: the county platform with simulated source units."""

import logging
from pathlib import Path

import click


@click.command()
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Platform address."
)
@click.option(
    "--port", default=8000, show_default=True, help="Platform port (another if busy)."
)
@click.option("--lanes", default=3, show_default=True, help="Simulated source units.")
@click.option("--seed", type=int, help="Seed for reproducible traffic.")
@click.option(
    "--data-dir",
    default="var/demo",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the demo keeps its databases (emptied at start).",
)
@click.option("--duration", type=float, help="Stop after this many seconds.")
def demo(host, port, lanes, seed, data_dir, duration) -> None:
    """Run a county platform on SQLite with simulated lanes (Ctrl-C stops)."""
    from zhichao.sim.demo import UNITS, run_demo
    from zhichao.tasks import run_until_stopped

    if not 1 <= lanes <= len(UNITS):
        raise click.BadParameter(f"must be 1 to {len(UNITS)}", param_hint="--lanes")
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING)

    def ready(url: str, sign_in: str = "") -> None:
        click.echo(
            f"zhichao demo: county platform at {url}/  ({lanes} lanes; Ctrl-C stops)"
        )
        if sign_in:
            click.echo(f"zhichao demo: {sign_in}")

    run_until_stopped(
        run_demo(
            host=host,
            port=port,
            lanes=lanes,
            seed=seed,
            data_dir=data_dir,
            duration_s=duration,
            on_ready=ready,
        )
    )
    click.echo("zhichao demo: stopped")

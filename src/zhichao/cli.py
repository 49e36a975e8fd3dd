"""The one command-line entry point, ``zhichao``.

Each layer owns its command group in its own ``cli`` module; this file only
assembles them, importing lazily so that ``zhichao rules check`` does not load
the web stack.
"""

import importlib
import logging

import click

# command name -> (module, attribute)
_GROUPS = {
    "rules": ("zhichao.rules.cli", "rules"),
    "devices": ("zhichao.protocols.cli", "devices"),
    "station": ("zhichao.station.cli", "station"),
    "platform": ("zhichao.platform.cli", "platform"),
    "demo": ("zhichao.sim.cli", "demo"),
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_GROUPS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in _GROUPS:
            return None
        module, attr = _GROUPS[name]
        return getattr(importlib.import_module(module), attr)


@click.group(cls=_LazyGroup)
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
@click.version_option(package_name="zhichao")
def main(verbose: int) -> None:
    """zhichao: source-point overload control (源头科技治超)."""
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # One line per HTTP request is noise even at -v; the uploader logs batches.
    logging.getLogger("httpx").setLevel(max(level, logging.WARNING))

"""The monitoring platform (county, city, province tiers): API, models, pages.

Entry points: ``create_app(settings)`` builds the web application,
``run_migrations(database_url)`` brings a database to the newest schema, and
``register_station(...)`` enrols a station; they load lazily so that importing
the package stays cheap.
"""

import importlib

_EXPORTS = {
    "create_app": "zhichao.platform.app",
    "run_migrations": "zhichao.platform.migrations",
    "register_station": "zhichao.platform.services",
    "load_settings": "zhichao.platform.settings",
    "PlatformSettings": "zhichao.platform.settings",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)

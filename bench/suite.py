"""Run the chosen benchmarks in order and gather their figures."""

import logging
import os
import traceback
from pathlib import Path

from bench import machine, pg
from bench.sizes import Size

logger = logging.getLogger(__name__)


def run_suite(
    size: Size,
    only: list[str],
    *,
    pg_url: str,
    work: Path,
    workers: int = 2,
    do_profile: bool = True,
    progress=lambda text: None,
) -> dict:
    results: dict = {
        "size": size.name,
        "machine": machine.describe(pg.server_version(pg_url)),
        "postgresql_settings": pg.settings(pg_url),
    }
    for name in only:
        progress(f"{name} ...")
        load = [round(x, 2) for x in os.getloadavg()]
        try:
            results[name] = _RUNNERS[name](
                size, pg_url, work / name, workers, do_profile
            )
        except Exception as err:  # one failed benchmark must not hide the others
            logger.error("%s failed: %s", name, err)
            results[name] = {
                "error": f"{type(err).__name__}: {err}",
                "trace": traceback.format_exc(limit=6),
            }
        results[name]["load_average_at_start"] = load
        progress(f"{name} done")
    return results


def _ingest(size, pg_url, work, workers, do_profile):
    from bench.ingest import bench_ingest

    work.mkdir(parents=True, exist_ok=True)
    out = {}
    with pg.scratch_database(pg_url) as url:
        out["postgresql"] = bench_ingest(
            url, work / "pg", size, workers=workers, do_profile=do_profile
        )
    sqlite_url = f"sqlite:///{work / 'sqlite' / 'platform.db'}"
    (work / "sqlite").mkdir(parents=True, exist_ok=True)
    out["sqlite"] = bench_ingest(
        sqlite_url, work / "sqlite", size, workers=workers, do_profile=do_profile
    )
    return out


def _photos(size, pg_url, work, workers, do_profile):
    from bench.photos import bench_photos

    with pg.scratch_database(pg_url) as url:
        return bench_photos(url, work, size, workers=workers)


def _backlog(size, pg_url, work, workers, do_profile):
    from bench.backlog import bench_backlog

    with pg.scratch_database(pg_url) as url:
        return bench_backlog(url, work, size, workers=workers)


def _lane(size, pg_url, work, workers, do_profile):
    from bench.lane import bench_lane

    return bench_lane(work, size)


def _queries(size, pg_url, work, workers, do_profile):
    from bench.queries import bench_queries

    with pg.scratch_database(pg_url) as url:
        return bench_queries(url, work, size)


_RUNNERS = {
    "ingest": _ingest,
    "photos": _photos,
    "backlog": _backlog,
    "lane": _lane,
    "queries": _queries,
}

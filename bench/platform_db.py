"""Bring a platform database to the newest schema and enrol the benchmark's lanes.

Enrolment goes through the documented command (``zhichao platform
enroll-station CODE``) when this version of the platform has it; a platform
without it accepts records from any lane.
"""

import contextlib
import io
import logging

from zhichao.chain import Enrolment

logger = logging.getLogger(__name__)


def prepare_database(database_url: str) -> None:
    from zhichao.platform import run_migrations

    run_migrations(database_url)


def enrolment_command():
    from zhichao.platform.cli import platform

    return platform.commands.get("enroll-station")


def enrol(database_url: str, lanes) -> int | None:
    """Enrol each lane's key; the number enrolled, or None when not supported."""
    from zhichao.platform.cli import platform

    if enrolment_command() is None:
        return None
    done = 0
    for lane in lanes:
        code = Enrolment(lane.station_code, lane.lane_no, lane.key.public_key).code
        try:
            # the command's confirmation would mix into the suite's JSON output
            with contextlib.redirect_stdout(io.StringIO()):
                platform.main(
                    ["enroll-station", code, "--database-url", database_url],
                    standalone_mode=False,
                )
        except SystemExit as err:
            if err.code not in (0, None):
                raise
        done += 1
    return done

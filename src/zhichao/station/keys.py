"""The lanes' signing keys: one Ed25519 key per lane, kept in the data folder.

``zhichao station init`` creates them (``<data_dir>/keys/lane<NN>.key``, mode
0600) and never overwrites one: a lane's key is its identity on the platform,
and replacing it is a deliberate manual step (docs/station.md). The station
refuses to run a lane that has no key.
"""

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from zhichao.chain import Enrolment, StationKey, key_fingerprint
from zhichao.errors import ConfigError
from zhichao.station.config import StationSettings

logger = logging.getLogger(__name__)

KEY_DIR = "keys"


@dataclass(frozen=True)
class LaneKey:
    """A lane's key as ``station init`` reports it."""

    lane_no: str
    path: Path
    key: StationKey
    enrolment: Enrolment
    created: bool  # False when the key was already there and was kept

    @property
    def fingerprint(self) -> str:
        return key_fingerprint(self.key.public_key)


def key_path(data_dir: Path | str, lane_no: str) -> Path:
    return Path(data_dir) / KEY_DIR / f"lane{lane_no}.key"


def init_keys(settings: StationSettings) -> list[LaneKey]:
    """Create the key of every configured lane that has none; keep the others."""
    folder = Path(settings.data_dir) / KEY_DIR
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    result = []
    for lane in settings.lanes:
        path = key_path(settings.data_dir, lane.lane_no)
        created = not path.exists()
        if created:
            StationKey.generate().save(path)
            logger.info("lane %s: new signing key %s", lane.lane_no, path)
        key = StationKey.load(path)
        result.append(
            LaneKey(
                lane.lane_no,
                path,
                key,
                Enrolment(settings.station_code, lane.lane_no, key.public_key),
                created,
            )
        )
    return result


def load_lane_keys(settings: StationSettings) -> dict[str, StationKey]:
    """Every configured lane's key; ConfigError names the first lane without one."""
    keys = {}
    for lane in settings.lanes:
        path = key_path(settings.data_dir, lane.lane_no)
        if not path.exists():
            raise ConfigError(
                f"lane {lane.lane_no} has no signing key ({path}); run "
                "`zhichao station init --config <file>` and have the county "
                "enrol the lane before running the station"
            )
        keys[lane.lane_no] = StationKey.load(path)
    return keys

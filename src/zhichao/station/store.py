"""The station's local store: records and photos kept until the platform has them.

SQLite in WAL mode with ``synchronous=FULL``: when ``add_record`` returns, the
record is on disk, so the lane may then tell the driver to go and open the
barrier. Photos are content-addressed files beside the database, written
atomically (temporary file, fsync, rename).
"""

import hashlib
import json
import logging
import os
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from zhichao.errors import StoreError

logger = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    rowid_ INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id TEXT NOT NULL UNIQUE,
    lane_no TEXT NOT NULL,
    seq INTEGER NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    UNIQUE (lane_no, seq)
);
CREATE INDEX IF NOT EXISTS records_status ON records (status, rowid_);
CREATE TABLE IF NOT EXISTS photos (
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS photos_status ON photos (status);
"""

PENDING = "pending"
UPLOADED = "uploaded"
REJECTED = "rejected"


@dataclass(frozen=True)
class PendingPhoto:
    sha256: str
    path: Path
    size: int


class StationStore:
    """Durable queue of records and photos for one station (all its lanes)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.photo_dir = self.path.parent / (self.path.stem + "-photos")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.photo_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(SCHEMA)
        except sqlite3.Error as err:
            raise StoreError(f"cannot open station store {self.path}: {err}") from err

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- records ----------------------------------------------------------

    def last_seq(self, lane_no: str) -> int:
        row = self._query_one(
            "SELECT MAX(seq) FROM records WHERE lane_no = ?", (lane_no,)
        )
        return row[0] or 0

    def add_record(self, record: dict) -> None:
        """Store a record durably; raises StoreError if it cannot."""
        body = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
        try:
            with self._lock:
                self._db.execute(
                    "INSERT INTO records (record_id, lane_no, seq, body) "
                    "VALUES (?, ?, ?, ?)",
                    (record["record_id"], record["lane_no"], record["seq"], body),
                )
        except sqlite3.IntegrityError as err:
            raise StoreError(
                f"record {record['record_id']} or its sequence number is already "
                f"stored: {err}"
            ) from err
        except sqlite3.Error as err:
            raise StoreError(
                f"cannot store record {record['record_id']}: {err}"
            ) from err

    def pending_records(self, limit: int = 200) -> list[dict]:
        """Records not yet acknowledged, oldest first."""
        rows = self._query_all(
            "SELECT body FROM records WHERE status = ? ORDER BY rowid_ LIMIT ?",
            (PENDING, limit),
        )
        return [json.loads(body) for (body,) in rows]

    def apply_acknowledgement(self, results: list[dict]) -> None:
        """Mark records per the platform's per-record results."""
        with self._lock, self._db:
            self._db.execute("BEGIN")
            for result in results:
                status = result.get("status")
                if status in ("stored", "duplicate"):
                    new, error = UPLOADED, None
                elif status == "rejected":
                    new, error = REJECTED, result.get("error")
                    logger.error(
                        "platform rejected record %s: %s", result["record_id"], error
                    )
                else:
                    continue
                self._db.execute(
                    "UPDATE records SET status = ?, last_error = ? WHERE record_id = ?",
                    (new, error, result["record_id"]),
                )

    def note_attempt(self, record_ids: list[str], error: str) -> None:
        with self._lock:
            self._db.executemany(
                "UPDATE records SET attempts = attempts + 1, last_error = ? "
                "WHERE record_id = ?",
                [(error, rid) for rid in record_ids],
            )

    def record_status(self, record_id: str) -> str | None:
        row = self._query_one(
            "SELECT status FROM records WHERE record_id = ?", (record_id,)
        )
        return row[0] if row else None

    # -- photos -----------------------------------------------------------

    def add_photo(self, data: bytes) -> str:
        """Write a photo durably under its SHA-256; returns the hash."""
        sha = hashlib.sha256(data).hexdigest()
        path = self.photo_path(sha)
        try:
            if not path.exists():
                tmp = path.with_suffix(".tmp")
                with open(tmp, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, path)
            with self._lock:
                self._db.execute(
                    "INSERT OR IGNORE INTO photos (sha256, size) VALUES (?, ?)",
                    (sha, len(data)),
                )
        except (OSError, sqlite3.Error) as err:
            raise StoreError(f"cannot store photo {sha}: {err}") from err
        return sha

    def photo_path(self, sha256: str) -> Path:
        return self.photo_dir / f"{sha256}.jpg"

    def pending_photos(self, limit: int = 20) -> list[PendingPhoto]:
        rows = self._query_all(
            "SELECT sha256, size FROM photos WHERE status = ? LIMIT ?",
            (PENDING, limit),
        )
        return [PendingPhoto(sha, self.photo_path(sha), size) for sha, size in rows]

    def mark_photo(self, sha256: str, status: str, error: str | None = None) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE photos SET status = ?, last_error = ? WHERE sha256 = ?",
                (status, error, sha256),
            )

    # -- state ------------------------------------------------------------

    def queue_depth(self) -> dict[str, int]:
        records = self._query_one(
            "SELECT COUNT(*) FROM records WHERE status = ?", (PENDING,)
        )[0]
        photos = self._query_one(
            "SELECT COUNT(*) FROM photos WHERE status = ?", (PENDING,)
        )[0]
        return {"records": records, "photos": photos}

    def _query_one(self, sql: str, args: tuple) -> tuple | None:
        with self._lock:
            return self._db.execute(sql, args).fetchone()

    def _query_all(self, sql: str, args: tuple) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

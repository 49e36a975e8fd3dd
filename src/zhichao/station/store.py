"""The station's local store: records and photos kept until the platform has them.

SQLite in WAL mode with ``synchronous=FULL``: when ``add_record`` returns, the
record is on disk, so the lane may then tell the driver to go and open the
barrier. Photos are content-addressed files beside the database, written
atomically (temporary file, fsync, rename).

It also keeps the last vehicle register downloaded from the platform
(``zhichao.station.register``), so a restart without the platform still has it.

The store also makes the lane's chain (docs/protocol.md, "Signing and the
chain"): in the one transaction that inserts a record it checks that the seq
follows the lane's newest stored record, sets ``prev_hash`` to that record's
hash (64 zeros for seq 1), signs the record with the lane's key and keeps the
record hash in a column. A record is therefore stored signed and chained, or
not at all.

A full disk never corrupts what is stored: SQLite rolls the insert back, and
the store refuses new passes once free space falls under ``min_free_bytes``
(events, which are small, may still use that reserve).
"""

import errno
import hashlib
import json
import logging
import os
import shutil
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from zhichao.chain import GENESIS_HASH, StationKey, record_hash
from zhichao.errors import StoreError, StoreFullError

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
    kind TEXT NOT NULL DEFAULT 'pass',
    hash TEXT,
    UNIQUE (lane_no, seq)
);
CREATE INDEX IF NOT EXISTS records_status ON records (status, rowid_);
CREATE TABLE IF NOT EXISTS photos (
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    last_error TEXT,
    lane_no TEXT,
    added_at REAL
);
CREATE INDEX IF NOT EXISTS photos_status ON photos (status);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS register_vehicles (
    plate TEXT NOT NULL,
    plate_color TEXT NOT NULL,
    axles INTEGER NOT NULL,
    PRIMARY KEY (plate, plate_color)
);
CREATE TABLE IF NOT EXISTS register_pairs (
    tractor_plate TEXT NOT NULL,
    trailer_plate TEXT NOT NULL,
    PRIMARY KEY (tractor_plate, trailer_plate)
);
"""
# columns added after the first release, for stores created before them
LATER_COLUMNS = {
    "records": {"kind": "TEXT NOT NULL DEFAULT 'pass'", "hash": "TEXT"},
    "photos": {"lane_no": "TEXT", "added_at": "REAL"},
}

PENDING = "pending"
UPLOADED = "uploaded"
REJECTED = "rejected"
PRUNED = "pruned"
SQLITE_FULL = 13


@dataclass(frozen=True)
class PendingPhoto:
    sha256: str
    path: Path
    size: int


@dataclass(frozen=True)
class PrunedPhoto:
    sha256: str
    size: int
    status: str  # the status before pruning: uploaded, or pending (never sent)
    lane_no: str | None


@dataclass(frozen=True)
class StoredRecord:
    seq: int
    record: dict
    hash: str
    status: str


class StationStore:
    """Durable queue of records and photos for one station (all its lanes)."""

    def __init__(self, path: Path | str, *, min_free_bytes: int = 0) -> None:
        self.path = Path(path)
        self.photo_dir = self.path.parent / (self.path.stem + "-photos")
        self.min_free_bytes = min_free_bytes
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
            self._add_later_columns()
        except sqlite3.Error as err:
            raise StoreError(f"cannot open station store {self.path}: {err}") from err

    def _add_later_columns(self) -> None:
        for table, columns in LATER_COLUMNS.items():
            have = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            for name, decl in columns.items():
                if name not in have:
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {decl}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def disk_free_bytes(self) -> int:
        return shutil.disk_usage(self.path.parent).free

    # -- records ----------------------------------------------------------

    def last_seq(self, lane_no: str) -> int:
        row = self._query_one(
            "SELECT MAX(seq) FROM records WHERE lane_no = ?", (lane_no,)
        )
        return row[0] or 0

    def add_record(self, record: dict, key: StationKey | None = None) -> dict:
        """Chain, sign and store a record durably; return it as stored.

        Raises StoreFullError when the disk is full (or, for a pass, when free
        space is under the reserve) and StoreError for anything else; in both
        cases nothing of the record is stored.
        """
        rid = record["record_id"]
        if record.get("kind", "pass") == "pass":
            self._check_space(rid)
        try:
            with self._lock:
                return self._insert_chained(record, key)
        except sqlite3.IntegrityError as err:
            raise StoreError(
                f"record {rid} or its sequence number is already stored: {err}"
            ) from err
        except sqlite3.Error as err:
            if _is_full(err):
                raise StoreFullError(f"disk full, record {rid} not stored") from err
            raise StoreError(f"cannot store record {rid}: {err}") from err

    def _insert_chained(self, record: dict, key: StationKey | None) -> dict:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            prev = self._lane_head(record["lane_no"])
            expected = prev[0] + 1 if prev else 1
            if record["seq"] != expected:
                raise StoreError(
                    f"record {record['record_id']}: seq {record['seq']} does not "
                    f"follow the lane's newest stored seq ({expected - 1})"
                )
            signed = dict(record, prev_hash=prev[1] if prev else GENESIS_HASH)
            signed["signature"] = key.sign(signed) if key else None
            digest = record_hash(signed)
            body = json.dumps(signed, ensure_ascii=False, separators=(",", ":"))
            self._db.execute(
                "INSERT INTO records (record_id, lane_no, seq, body, kind, hash) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    signed["record_id"],
                    signed["lane_no"],
                    signed["seq"],
                    body,
                    signed.get("kind", "pass"),
                    digest,
                ),
            )
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        return signed

    def _lane_head(self, lane_no: str) -> tuple[int, str] | None:
        """(seq, hash) of the lane's newest stored record."""
        row = self._db.execute(
            "SELECT seq, hash, body FROM records WHERE lane_no = ? "
            "ORDER BY seq DESC LIMIT 1",
            (lane_no,),
        ).fetchone()
        if row is None:
            return None
        seq, digest, body = row
        # a record stored before the chain existed has no hash column yet
        return seq, digest or record_hash(json.loads(body))

    def _check_space(self, record_id: str) -> None:
        if not self.min_free_bytes:
            return
        free = self.disk_free_bytes()
        if free < self.min_free_bytes:
            raise StoreFullError(
                f"only {free} bytes free (reserve {self.min_free_bytes}); "
                f"pass {record_id} not stored"
            )

    def pending_records(
        self, limit: int = 200, exclude_lanes: frozenset[str] = frozenset()
    ) -> list[dict]:
        """Records not yet acknowledged, oldest first (lanes excluded skipped)."""
        marks = ",".join("?" * len(exclude_lanes))
        rows = self._query_all(
            "SELECT body FROM records WHERE status = ? "
            f"AND lane_no NOT IN ({marks}) ORDER BY rowid_ LIMIT ?",
            (PENDING, *sorted(exclude_lanes), limit),
        )
        return [json.loads(body) for (body,) in rows]

    def apply_acknowledgement(self, results: list[dict]) -> dict[str, int]:
        """Mark records per the platform's per-record results; count each status.

        ``refused`` (lane not enrolled) and unknown statuses leave the record
        pending, with the platform's error noted, so it is sent again later.
        """
        counts: dict[str, int] = {}
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for result in results:
                    status = str(result.get("status"))
                    counts[status] = counts.get(status, 0) + 1
                    self._apply_one(result, status)
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
        return counts

    def _apply_one(self, result: dict, status: str) -> None:
        rid, error = result.get("record_id"), result.get("error")
        if status in ("stored", "duplicate"):
            new, error = UPLOADED, None
        elif status == "rejected":
            new = REJECTED
            logger.error("platform rejected record %s: %s", rid, error)
        else:
            self._db.execute(
                "UPDATE records SET last_error = ? WHERE record_id = ?",
                (f"{status}: {error}", rid),
            )
            return
        self._db.execute(
            "UPDATE records SET status = ?, last_error = ? WHERE record_id = ?",
            (new, error, rid),
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

    def lane_records(self, lane_no: str) -> list[StoredRecord]:
        """A lane's stored records in seq order, with their stored hashes."""
        rows = self._query_all(
            "SELECT seq, body, hash, status FROM records WHERE lane_no = ? "
            "ORDER BY seq",
            (lane_no,),
        )
        return [StoredRecord(s, json.loads(b), h, st) for s, b, h, st in rows]

    def recent_records(self, lane_no: str, limit: int = 20) -> list[StoredRecord]:
        """A lane's newest ``limit`` records, newest first (the operator page)."""
        rows = self._query_all(
            "SELECT seq, body, hash, status FROM records WHERE lane_no = ? "
            "ORDER BY seq DESC LIMIT ?",
            (lane_no, limit),
        )
        return [StoredRecord(s, json.loads(b), h, st) for s, b, h, st in rows]

    # -- photos -----------------------------------------------------------

    def add_photo(self, data: bytes, lane_no: str | None = None) -> str:
        """Write a photo durably under its SHA-256; returns the hash."""
        sha = hashlib.sha256(data).hexdigest()
        path = self.photo_path(sha)
        tmp = path.with_suffix(".tmp")
        try:
            if not path.exists():
                with open(tmp, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, path)
            with self._lock:
                self._db.execute(
                    "INSERT INTO photos (sha256, size, lane_no, added_at) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (sha256) DO UPDATE SET "
                    "status = CASE WHEN status = 'pruned' THEN 'pending' "
                    "ELSE status END",
                    (sha, len(data), lane_no, time.time()),
                )
        except (OSError, sqlite3.Error) as err:
            tmp.unlink(missing_ok=True)
            if _is_full(err):
                raise StoreFullError(f"disk full, photo {sha} not kept") from err
            raise StoreError(f"cannot store photo {sha}: {err}") from err
        return sha

    def photo_path(self, sha256: str) -> Path:
        return self.photo_dir / f"{sha256}.jpg"

    def pending_photos(self, limit: int = 20) -> list[PendingPhoto]:
        """Photos the platform has not confirmed, oldest first."""
        rows = self._query_all(
            "SELECT sha256, size FROM photos WHERE status = ? ORDER BY rowid LIMIT ?",
            (PENDING, limit),
        )
        return [PendingPhoto(sha, self.photo_path(sha), size) for sha, size in rows]

    def mark_photo(self, sha256: str, status: str, error: str | None = None) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE photos SET status = ?, last_error = ? WHERE sha256 = ?",
                (status, error, sha256),
            )

    def photo_status(self, sha256: str) -> str | None:
        row = self._query_one("SELECT status FROM photos WHERE sha256 = ?", (sha256,))
        return row[0] if row else None

    def photo_bytes_kept(self) -> int:
        row = self._query_one(
            "SELECT COALESCE(SUM(size), 0) FROM photos WHERE status != ?", (PRUNED,)
        )
        return row[0]

    def prune_photos(self, quota_bytes: int) -> list[PrunedPhoto]:
        """Delete photos, oldest first, until those kept fit in ``quota_bytes``.

        Photos the platform has confirmed go first; a photo it has not got is
        pruned only when the quota cannot be met otherwise. The database is
        updated before a file is removed, so a crash leaves at worst a stray
        file, never a photo marked kept whose file is gone.
        """
        kept = self.photo_bytes_kept()
        if kept <= quota_bytes:
            return []
        rows = self._query_all(
            "SELECT sha256, size, status, lane_no FROM photos WHERE status != ? "
            "ORDER BY (status = ?) DESC, rowid",
            (PRUNED, UPLOADED),
        )
        pruned = []
        for sha, size, status, lane_no in rows:
            if kept <= quota_bytes:
                break
            pruned.append(PrunedPhoto(sha, size, status, lane_no))
            kept -= size
        with self._lock:
            self._db.executemany(
                "UPDATE photos SET status = ?, last_error = ? WHERE sha256 = ?",
                [(PRUNED, f"pruned (was {p.status})", p.sha256) for p in pruned],
            )
        for photo in pruned:
            self.photo_path(photo.sha256).unlink(missing_ok=True)
        return pruned

    # -- state ------------------------------------------------------------

    def queue_depth(self) -> dict[str, int]:
        records = self._query_one(
            "SELECT COUNT(*) FROM records WHERE status = ?", (PENDING,)
        )[0]
        photos = self._query_one(
            "SELECT COUNT(*) FROM photos WHERE status = ?", (PENDING,)
        )[0]
        return {"records": records, "photos": photos}

    def get_meta(self, key: str) -> str | None:
        row = self._query_one("SELECT value FROM meta WHERE key = ?", (key,))
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    # -- the vehicle register (zhichao.station.register) --------------------

    def replace_register(self, vehicles, pairs, meta: dict[str, str | None]) -> None:
        """Replace the kept register and its ``meta`` keys in one transaction
        (a None value removes its key): the old register or the new, never a
        mix. ``vehicles`` are (plate, colour, axles), ``pairs`` (tractor,
        trailer)."""
        try:
            with self._lock:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    self._write_register(vehicles, pairs, meta)
                    self._db.execute("COMMIT")
                except BaseException:
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                    raise
        except sqlite3.Error as err:
            raise StoreError(f"cannot keep the vehicle register: {err}") from err

    def _write_register(self, vehicles, pairs, meta) -> None:
        self._db.execute("DELETE FROM register_vehicles")
        self._db.execute("DELETE FROM register_pairs")
        self._db.executemany(
            "INSERT OR REPLACE INTO register_vehicles (plate, plate_color, axles) "
            "VALUES (?, ?, ?)",
            vehicles,
        )
        self._db.executemany(
            "INSERT OR IGNORE INTO register_pairs (tractor_plate, trailer_plate) "
            "VALUES (?, ?)",
            pairs,
        )
        for key, value in meta.items():
            if value is None:
                self._db.execute("DELETE FROM meta WHERE key = ?", (key,))
            else:
                self._db.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (key, value),
                )

    def register_rows(
        self,
    ) -> tuple[list[tuple[str, str, int]], list[tuple[str, str]]]:
        """The kept register: its vehicles and its pairs."""
        vehicles = self._query_all(
            "SELECT plate, plate_color, axles FROM register_vehicles", ()
        )
        pairs = self._query_all(
            "SELECT tractor_plate, trailer_plate FROM register_pairs", ()
        )
        return vehicles, pairs

    def _query_one(self, sql: str, args: tuple) -> tuple | None:
        with self._lock:
            return self._db.execute(sql, args).fetchone()

    def _query_all(self, sql: str, args: tuple) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()


def _is_full(err: Exception) -> bool:
    """SQLITE_FULL from SQLite, or ENOSPC/EDQUOT from the file system."""
    if isinstance(err, sqlite3.Error):
        code = getattr(err, "sqlite_errorcode", None)
        return (code is not None and code & 0xFF == SQLITE_FULL) or (
            "full" in str(err).lower()
        )
    return isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT)

"""The audit log (操作日志): who changed or exported what, when, from where.

Append-only: the database refuses UPDATE and DELETE on ``audit_log`` by
trigger, and every entry carries the SHA-256 of the previous one, so an entry
altered or removed by someone who got past the trigger breaks the chain, which
``verify_chain`` finds. Entries are numbered by ``seq`` (1, 2, …, unique);
appending takes a lock (PostgreSQL: an advisory transaction lock; SQLite: the
write transaction itself) so that two processes never chain onto the same entry.
"""

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from zhichao.platform.models import AuditEntry
from zhichao.timeutil import iso_utc, utcnow

logger = logging.getLogger(__name__)

GENESIS = "0" * 64
ADVISORY_LOCK_KEY = 0x7A6361  # any constant the platform alone uses
UNSCOPED = {"zhichao_unscoped": True}


def entry_digest(
    *,
    seq: int,
    at: datetime,
    username: str,
    role: str,
    region: str,
    action: str,
    target: str,
    detail: dict[str, Any],
    address: str | None,
    prev_hash: str,
) -> str:
    """SHA-256 of an entry's fields in a fixed canonical JSON form."""
    body = json.dumps(
        [
            seq,
            iso_utc(at),
            username,
            role,
            region,
            action,
            target,
            detail,
            address,
            prev_hash,
        ],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode()).hexdigest()


def _lock(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(ADVISORY_LOCK_KEY)))


def append(
    session: Session,
    *,
    username: str,
    role: str,
    region: str,
    action: str,
    target: str,
    detail: dict[str, Any] | None = None,
    address: str | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Add one entry in the caller's transaction (it commits with the change)."""
    _lock(session)
    last = session.execute(
        sa.select(AuditEntry.seq, AuditEntry.entry_hash)
        .order_by(AuditEntry.seq.desc())
        .limit(1)
        .execution_options(**UNSCOPED)
    ).first()
    seq, prev = (last.seq + 1, last.entry_hash) if last else (1, GENESIS)
    at = at or utcnow()
    fields = {
        "seq": seq,
        "at": at,
        "username": username,
        "role": role,
        "region": region,
        "action": action,
        "target": target,
        "detail": detail or {},
        "address": address,
        "prev_hash": prev,
    }
    entry = AuditEntry(**fields, entry_hash=entry_digest(**fields))
    session.add(entry)
    session.flush()
    logger.info("audit %s: %s %s %s", seq, username, action, target)
    return entry


@dataclass(frozen=True)
class ChainReport:
    intact: bool
    entries: int
    first_bad_seq: int | None = None
    reason: str | None = None


def verify_chain(session: Session, batch: int = 1000) -> ChainReport:
    """Recompute every entry's hash and link, oldest first."""
    prev = GENESIS
    expected_seq = 1
    count = 0
    last_seq = 0
    while True:
        rows = session.scalars(
            sa.select(AuditEntry)
            .where(AuditEntry.seq > last_seq)
            .order_by(AuditEntry.seq)
            .limit(batch)
            .execution_options(**UNSCOPED)
        ).all()
        if not rows:
            return ChainReport(intact=True, entries=count)
        for entry in rows:
            if entry.seq != expected_seq:
                return ChainReport(
                    False, count, expected_seq, f"entry {expected_seq} is missing"
                )
            if entry.prev_hash != prev:
                return ChainReport(
                    False, count, entry.seq, "does not link to the entry before"
                )
            digest = entry_digest(
                seq=entry.seq,
                at=entry.at,
                username=entry.username,
                role=entry.role,
                region=entry.region,
                action=entry.action,
                target=entry.target,
                detail=entry.detail,
                address=entry.address,
                prev_hash=entry.prev_hash,
            )
            if digest != entry.entry_hash:
                return ChainReport(
                    False, count, entry.seq, "its content does not match its hash"
                )
            prev = entry.entry_hash
            expected_seq += 1
            count += 1
            last_seq = entry.seq
        session.expunge_all()


def search(
    session: Session,
    *,
    username: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 200,
) -> list[AuditEntry]:
    """Entries newest first; the session's scope limits them to its region."""
    query = sa.select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)
    if username:
        query = query.where(AuditEntry.username == username)
    if action:
        query = query.where(AuditEntry.action == action)
    if since:
        query = query.where(AuditEntry.at >= since)
    if until:
        query = query.where(AuditEntry.at < until)
    return list(session.scalars(query))

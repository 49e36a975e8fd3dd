"""Chain verification of one lane's records on arrival (docs/protocol.md).

Pure: the caller loads what the checks need (the lane's keys, its chain head,
the stored records at the few seqs a batch touches, stored content hashes) and
writes the outcome back. In the usual case — a batch that continues the lane's
chain from its head — nothing needs loading beyond the head itself.

Signatures are checked by runs: records of a batch with consecutive seqs where
each ``prev_hash`` is the hash of the one before form a run, and one valid
signature on the newest record of a run vouches for every record in it (its
hash covers its predecessor's, and so on). Only when that signature fails is
each record of the run checked on its own.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from zhichao.chain import GENESIS_HASH, verify_signature

logger = logging.getLogger(__name__)


class Verification(StrEnum):
    VERIFIED = "verified"
    GAP = "gap"
    FORK = "fork"
    BAD_SIGNATURE = "bad_signature"
    REPLAY = "replay"
    UNSIGNED = "unsigned"  # no signature, lane not enrolled
    UNENROLLED = "unenrolled"  # signed, but the lane has no enrolled key


class AlarmKind(StrEnum):
    CHAIN_GAP = "chain_gap"
    CHAIN_FORK = "chain_fork"
    BAD_SIGNATURE = "bad_signature"
    REPLAY = "replay"


# records at these statuses do not hold their seq in the chain
OUT_OF_CHAIN = {Verification.FORK, Verification.REPLAY}


@dataclass(frozen=True)
class LaneKeyInfo:
    public_key: str
    replaced_at: datetime | None

    def covers(self, detected_at: datetime) -> bool:
        """A replaced key verifies only records detected before its replacement."""
        return self.replaced_at is None or detected_at < self.replaced_at


@dataclass(frozen=True)
class Candidate:
    """A new record of the lane, valid as data, not stored yet."""

    record_id: str
    seq: int
    prev_hash: str | None
    signature: str | None
    detected_at: datetime
    raw: dict[str, Any]
    record_hash: str
    content_hash: str


@dataclass(frozen=True)
class Link:
    """A record of the lane already stored (or accepted earlier in the batch)."""

    record_id: str
    seq: int
    prev_hash: str | None
    record_hash: str | None
    verification: str


@dataclass(frozen=True)
class AlarmOut:
    kind: AlarmKind
    seq: int
    record_id: str
    message: str
    detail: dict[str, Any]


@dataclass
class LaneOutcome:
    statuses: dict[str, Verification] = field(default_factory=dict)
    alarms: list[AlarmOut] = field(default_factory=list)
    # stored records whose status changes (an out-of-order predecessor arrived)
    updates: dict[str, Verification] = field(default_factory=dict)
    head_seq: int = 0
    head_hash: str | None = None
    signature_checks: int = 0


@dataclass
class LaneState:
    """What the verifier knows of one lane before the batch."""

    label: str  # "1405250001-01", for messages
    keys: list[LaneKeyInfo]
    head_seq: int
    head_hash: str | None
    stored: dict[int, list[Link]] = field(default_factory=dict)
    contents: dict[str, str] = field(default_factory=dict)  # content hash -> id


def seqs_to_load(head_seq: int, head_hash: str | None, cands: list[Candidate]):
    """The stored seqs a batch must look at; empty when it continues the head."""
    wanted: set[int] = set()
    for cand in cands:
        wanted.update((cand.seq - 1, cand.seq, cand.seq + 1))
    first = min(cands, key=lambda c: c.seq)
    continues_head = first.seq == head_seq + 1 and first.prev_hash == head_hash
    if continues_head and all(c.seq > head_seq for c in cands):
        return set()
    return {seq for seq in wanted if 1 <= seq <= head_seq}


def verify_lane(state: LaneState, cands: Iterable[Candidate]) -> LaneOutcome:
    """Verify a lane's new records in seq order; see docs/protocol.md."""
    ordered = sorted(cands, key=lambda c: c.seq)
    outcome = LaneOutcome(head_seq=state.head_seq, head_hash=state.head_hash)
    if not state.keys:
        for cand in ordered:
            status = (
                Verification.UNSIGNED
                if cand.signature is None
                else Verification.UNENROLLED
            )
            _accept(state, outcome, cand, status)
        return outcome

    signed = _signatures(state.keys, ordered, outcome)
    for cand in ordered:
        status, alarm = _judge(state, outcome, cand, signed[cand.record_id])
        _accept(state, outcome, cand, status)
        if alarm is not None:
            outcome.alarms.append(alarm)
    _recheck_successors(state, outcome, ordered)
    return outcome


def _accept(state, outcome, cand: Candidate, status: Verification) -> None:
    outcome.statuses[cand.record_id] = status
    state.stored.setdefault(cand.seq, []).append(
        Link(cand.record_id, cand.seq, cand.prev_hash, cand.record_hash, status)
    )
    state.contents.setdefault(cand.content_hash, cand.record_id)
    if status not in OUT_OF_CHAIN and cand.seq > outcome.head_seq:
        outcome.head_seq, outcome.head_hash = cand.seq, cand.record_hash


def _signatures(keys, ordered: list[Candidate], outcome) -> dict[str, bool]:
    """record_id -> signature valid (directly or vouched for by its run)."""
    result: dict[str, bool] = {}
    for run in _runs(ordered):
        if _signed_by(keys, run[-1], outcome):
            for cand in run:
                result[cand.record_id] = isinstance(cand.signature, str)
            continue
        result[run[-1].record_id] = False
        for cand in run[:-1]:
            result[cand.record_id] = _signed_by(keys, cand, outcome)
    return result


def _runs(ordered: list[Candidate]) -> list[list[Candidate]]:
    runs: list[list[Candidate]] = []
    for cand in ordered:
        last = runs[-1][-1] if runs else None
        if (
            last is not None
            and cand.seq == last.seq + 1
            and cand.prev_hash == last.record_hash
        ):
            runs[-1].append(cand)
        else:
            runs.append([cand])
    return runs


def _signed_by(keys: list[LaneKeyInfo], cand: Candidate, outcome) -> bool:
    if not isinstance(cand.signature, str):
        return False
    for key in keys:
        if key.covers(cand.detected_at):
            outcome.signature_checks += 1
            if verify_signature(cand.raw, key.public_key):
                return True
    return False


def _judge(state: LaneState, outcome, cand: Candidate, signed: bool):
    """(status, alarm or None) of one record, the first problem found winning."""
    if not signed:
        why = "carries no signature" if cand.signature is None else "does not verify"
        return Verification.BAD_SIGNATURE, _alarm(
            AlarmKind.BAD_SIGNATURE,
            cand,
            f"record {cand.record_id}: signature {why} with the key of lane "
            f"{state.label}",
            {},
        )

    original = state.contents.get(cand.content_hash)
    if original is not None and original != cand.record_id:
        return Verification.REPLAY, _alarm(
            AlarmKind.REPLAY,
            cand,
            f"record {cand.record_id} repeats record {original} under a new id",
            {"original_record_id": original},
        )

    rivals = [
        link
        for link in state.stored.get(cand.seq, [])
        if link.verification not in OUT_OF_CHAIN
        and link.verification != Verification.BAD_SIGNATURE
        and link.record_id != cand.record_id
    ]
    if rivals:
        return Verification.FORK, _alarm(
            AlarmKind.CHAIN_FORK,
            cand,
            f"lane {state.label} seq {cand.seq}: record {rivals[0].record_id} "
            f"is already stored with different content",
            {"stored_record_id": rivals[0].record_id},
        )
    return _judge_link(state, outcome, cand)


def _judge_link(state: LaneState, outcome, cand: Candidate):
    """Does ``prev_hash`` match the stored predecessor? Gap when there is none."""
    if cand.seq == 1:
        if cand.prev_hash == GENESIS_HASH:
            return Verification.VERIFIED, None
        return Verification.FORK, _alarm(
            AlarmKind.CHAIN_FORK,
            cand,
            f"lane {state.label} seq 1: prev_hash is not 64 zeros",
            {"prev_hash": cand.prev_hash},
        )

    if cand.seq - 1 == state.head_seq and cand.prev_hash == state.head_hash:
        return Verification.VERIFIED, None
    before = [
        link
        for link in state.stored.get(cand.seq - 1, [])
        if link.verification not in OUT_OF_CHAIN
    ]
    if any(link.record_hash == cand.prev_hash for link in before):
        return Verification.VERIFIED, None
    if before and all(b.verification == Verification.BAD_SIGNATURE for b in before):
        # a tampered predecessor's hash proves nothing; this record's own
        # signature (checked above) is what stands
        return Verification.VERIFIED, None
    if before or cand.seq - 1 == state.head_seq:
        return Verification.FORK, _alarm(
            AlarmKind.CHAIN_FORK,
            cand,
            f"lane {state.label} seq {cand.seq}: prev_hash does not match the "
            f"stored record {cand.seq - 1}",
            {"prev_hash": cand.prev_hash},
        )

    newest = outcome.head_seq
    if cand.seq <= newest + 1:
        return Verification.GAP, None  # an earlier gap alarm names this range
    missing = list(range(newest + 1, cand.seq))
    return Verification.GAP, _alarm(
        AlarmKind.CHAIN_GAP,
        cand,
        f"lane {state.label}: {_seq_range(missing)} missing before seq {cand.seq}",
        {"missing_from": missing[0], "missing_to": missing[-1]},
    )


def _recheck_successors(state: LaneState, outcome, ordered: list[Candidate]):
    """A stored record marked ``gap`` whose predecessor has now arrived."""
    for cand in ordered:
        if outcome.statuses[cand.record_id] in OUT_OF_CHAIN:
            continue
        for link in state.stored.get(cand.seq + 1, []):
            if link.verification != Verification.GAP or link.record_id in (
                outcome.statuses
            ):
                continue
            if link.prev_hash == cand.record_hash:
                outcome.updates[link.record_id] = Verification.VERIFIED
                logger.info("record %s: predecessor arrived; verified", link.record_id)


def _alarm(kind, cand: Candidate, message: str, detail: dict) -> AlarmOut:
    return AlarmOut(kind, cand.seq, cand.record_id, message, detail)


def _seq_range(missing: list[int]) -> str:
    if len(missing) == 1:
        return f"seq {missing[0]}"
    return f"seqs {missing[0]}–{missing[-1]}"

"""Anchors: one digest over every run's head and the run ledger's head, kept outside the store.

Whoever can write the store's file can recompute everything in it: edit an event, re-hash the
chain after it, move the run's head, and every check inside the store passes again. An anchor is
what they cannot recompute. `take_anchor` (`prodex verify --anchor`) verifies the store, then
computes one SHA-256 over the run ledger's last entry and hash (which chain every run creation
and every tombstone) and each run's last event and hash (which chain everything before them),
records that list in the store (`anchors`, insert-only) and returns the digest for people to keep
outside it: in a ticket, a report, an email. Later `verify_against` (`prodex verify --against
DIGEST`) re-reads the list, checks it against the digest (so editing the list only makes
verification fail), and checks that each anchored event is still in its run's chain with the
same hash and the ledger still passes through the anchored entry. Since every hash covers all
before it, nothing recorded before the anchor changed. Allowed since: new runs, events appended,
runs deleted through `delete_run` (their tombstone must show the chain reached the anchored event).
Not allowed: events the anchor does not cover dated more than five minutes before it (backdated).

The anchor can also be written to a file (`to_json`) and checked from it, without the store's
copy of the list. Plain SQL and Python: a backend needs the `anchors` table and the store's reads.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from . import ledger
from .event_log import LAST_EVENTS, Snapshot, utc_now
from .ledger import Tombstone
from .verify import Problem, check_run, check_store, verify_run, verify_store

if TYPE_CHECKING:
    from .run_store import RunStore

_HEADS = f"{LAST_EVENTS} ORDER BY e.run_id"
BACKDATING_MARGIN_S = 300
_DIGEST = re.compile(r"[0-9a-f]{64}")


class AnchorError(ValueError):
    """An anchor that cannot be read or does not match its own digest."""


@dataclass(frozen=True)
class Anchor:
    """The state a digest stands for: the ledger's head and each run's head, at a moment."""

    at: str
    ledger_seq: int
    ledger_hash: str
    heads: tuple[tuple[str, int, str], ...]  # (run_id, seq, hash), sorted by run id

    @property
    def digest(self) -> str:
        lines = ["prodex anchor 1", f"at {self.at}", f"ledger {self.ledger_seq} {self.ledger_hash}"]
        lines += [f"run {run_id} {seq} {digest}" for run_id, seq, digest in self.heads]
        return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()

    def to_json(self) -> str:
        body = {
            "digest": self.digest,
            "at": self.at,
            "ledger": [self.ledger_seq, self.ledger_hash],
            "heads": [list(head) for head in self.heads],
        }
        return json.dumps(body, indent=1)

    @classmethod
    def from_json(cls, text: str, source: str) -> Anchor:
        """Read an anchor; refused when its content does not give the digest it names."""
        try:
            body = json.loads(text)
            anchor = cls(
                str(body["at"]),
                int(body["ledger"][0]),
                str(body["ledger"][1]),
                tuple((str(r), int(s), str(h)) for r, s, h in body["heads"]),
            )
            named = str(body["digest"])
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise AnchorError(f"{source}: not a prodex anchor ({exc})") from None
        if anchor.digest != named:
            raise AnchorError(
                f"{source}: its heads do not give its digest {named[:12]} (they give "
                f"{anchor.digest[:12]}): the anchor was edited"
            )
        return anchor

    def __str__(self) -> str:
        return (
            f"anchor {self.digest} ({len(self.heads)} runs, ledger entry {self.ledger_seq}, "
            f"taken {self.at})"
        )


class AnchorRefused(RuntimeError):
    """The store has problems: an anchor taken now would vouch for them."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"not anchored: verify found {len(problems)} problem(s)")
        self.problems = problems


def take_anchor(store: RunStore) -> Anchor:
    """Verify the store and, when intact, record an anchor of it (`anchors` table) and return it.
    Raises AnchorRefused with the problems otherwise."""
    with store.log.snapshot() as snap:  # the heads anchored are the ones verified
        problems = check_store(store, snap)
        if problems:
            raise AnchorRefused(problems)
        seq, digest = ledger.head(snap.query)
        heads = tuple((r, s, h) for r, s, h in snap.query(_HEADS))
    anchor = Anchor(utc_now(), seq, digest, heads)
    store.log.transact(
        lambda con: con.execute(
            "INSERT INTO anchors (digest, at, body) VALUES (?, ?, ?)",
            (anchor.digest, anchor.at, anchor.to_json()),
        )
    )
    return anchor


def load_anchor(store: RunStore, digest_or_file: str) -> Anchor | Problem:
    """The anchor a digest (recorded in this store) or an anchor file stands for. A digest the
    store has no intact record of is a Problem: the record went, or was never taken here."""
    path = Path(digest_or_file)
    if path.is_file():
        return Anchor.from_json(path.read_text(encoding="utf-8"), str(path))
    digest = digest_or_file.strip().lower()
    if not _DIGEST.fullmatch(digest):
        raise AnchorError(
            f"--against {digest_or_file!r}: neither an anchor file nor a 64-hex-digit digest"
        )
    rows = store.log.query("SELECT body FROM anchors WHERE digest = ?", (digest,))
    if not rows:
        return Problem(
            "anchor",
            None,
            f"{digest[:12]} is not recorded in the store at {store.root}: its record was removed, "
            "or it was taken from another store (check against the anchor file instead)",
        )
    try:
        return Anchor.from_json(rows[0][0], f"the store's record of anchor {digest[:12]}")
    except AnchorError as exc:
        return Problem("anchor", None, str(exc))


def verify_against(
    store: RunStore, anchor: Anchor | str, run_id: str | None = None
) -> list[Problem]:
    """Everything `verify` finds (in one run, or the store), and every way the record differs
    from what the anchor fixed: an anchored event gone or with another hash, a run removed
    without a tombstone, the ledger cut or rewritten before the anchored entry. `anchor` is an
    Anchor, a digest recorded in this store, or an anchor file."""
    if isinstance(anchor, str):
        loaded = load_anchor(store, anchor)
        if isinstance(loaded, Problem):
            return [*(verify_run(store, run_id) if run_id else verify_store(store)), loaded]
        anchor = loaded
    found = f"anchor {anchor.digest[:12]} ({anchor.at})"
    with store.log.snapshot() as snap:
        problems = check_run(store, snap, run_id) if run_id else check_store(store, snap)
        if run_id is None:
            problems += _ledger_since(snap, anchor, found)
        deleted = {
            e.run_id: Tombstone.of(e)
            for e in ledger.entries(snap.query, run_id)
            if e.kind == ledger.DELETED and e.seq > anchor.ledger_seq
        }
        for rid, seq, digest in anchor.heads:
            if run_id is None or rid == run_id:
                problems += _head_since(snap, rid, seq, digest, deleted.get(rid), found)
        problems += _backdated(snap, anchor, run_id, found)
    return problems


def _backdated(snap: Snapshot, anchor: Anchor, run_id: str | None, found: str) -> list[Problem]:
    """Events the anchor does not cover (appended since, or in runs created since) dated well
    before it: a record made up later and given an earlier date. The margin leaves room for a
    write that was under way while the anchor was taken, and for clocks of other hosts."""
    cutoff = datetime.fromisoformat(anchor.at) - timedelta(seconds=BACKDATING_MARGIN_S)
    covered = {rid: seq for rid, seq, _ in anchor.heads}
    where, params = ("AND run_id = ?", (run_id,)) if run_id else ("", ())
    rows = snap.query(
        f"SELECT run_id, seq, at FROM events WHERE at < ? {where} ORDER BY run_id, seq",
        (cutoff.isoformat(timespec="microseconds"), *params),
    )
    return [
        Problem(
            rid,
            seq,
            f"dated {at}, before {found}, yet the anchor does not cover it: written after the "
            "anchor and backdated",
        )
        for rid, seq, at in rows
        if seq > covered.get(rid, -1)
    ]


def _ledger_since(snap: Snapshot, anchor: Anchor, found: str) -> list[Problem]:
    if anchor.ledger_seq < 0:
        return []
    rows = snap.query("SELECT hash FROM run_ledger WHERE seq = ?", (anchor.ledger_seq,))
    if not rows:
        return [
            Problem(
                "ledger",
                anchor.ledger_seq,
                f"missing: {found} recorded the ledger up to it (run creations and tombstones "
                "were cut)",
                "entry",
            )
        ]
    if rows[0][0] != anchor.ledger_hash:
        return [
            Problem(
                "ledger",
                anchor.ledger_seq,
                f"differs from {found}: the ledger up to it (run creations and tombstones) was "
                "rewritten",
                "entry",
            )
        ]
    return []


def _head_since(
    snap: Snapshot, run_id: str, seq: int, digest: str, tombstone: Tombstone | None, found: str
) -> list[Problem]:
    rows = snap.query("SELECT hash FROM events WHERE run_id = ? AND seq = ?", (run_id, seq))
    if rows:
        if rows[0][0] == digest:
            return []
        return [
            Problem(
                run_id,
                seq,
                f"differs from {found}: the run's events up to it were rewritten and the chain "
                "re-hashed",
            )
        ]
    if tombstone is not None:  # deleted since the anchor, through delete_run
        if tombstone.last_seq < seq or (
            tombstone.last_seq == seq and tombstone.last_hash != digest
        ):
            return [
                Problem(
                    run_id,
                    None,
                    f"its tombstone (ledger entry {tombstone.ledger_seq}) says its chain ended at "
                    f"event {tombstone.last_seq} hash {tombstone.last_hash[:12]}, but {found} saw "
                    f"event {seq} hash {digest[:12]}",
                )
            ]
        return []
    last = snap.query("SELECT max(seq) FROM events WHERE run_id = ?", (run_id,))[0][0]
    if last is not None:
        return [
            Problem(
                run_id,
                seq,
                f"missing: {found} saw the run reach it; the log now ends at event {last} "
                "(truncated)",
            )
        ]
    return [
        Problem(
            run_id,
            None,
            f"removed: {found} saw it at event {seq}, and no tombstone records its deletion",
        )
    ]


def since(store: RunStore, anchor: Anchor) -> str:
    """What changed since the anchor, all of it allowed: for people reading verify's report."""
    now = {r: s for r, s, _ in store.log.query(_HEADS)}
    then = {r: s for r, s, _ in anchor.heads}
    new = len(set(now) - set(then))
    grown = sum(1 for r, s in then.items() if r in now and now[r] > s)
    deleted = sum(1 for t in store.tombstones() if t.ledger_seq > anchor.ledger_seq)
    return f"since the anchor: {new} runs added, {grown} runs appended to, {deleted} runs deleted"


def write_anchor(anchor: Anchor, path: str | Path) -> None:
    Path(path).write_text(anchor.to_json() + "\n", encoding="utf-8")


__all__ = [
    "Anchor",
    "AnchorError",
    "AnchorRefused",
    "load_anchor",
    "since",
    "take_anchor",
    "verify_against",
    "write_anchor",
]

"""The audit log's hash chain: how an event is hashed, exported and verified.

Every audit event is a link: ``hash = SHA-256(prev_hash || canonical JSON of its fields)``, the
first event's ``prev_hash`` being 64 zeros. Changing, removing or inserting one stored event
breaks every later link, so a verifier names the first broken ``seq``.

The format is deliberately plain so that a third party can re-check an export (JSON lines of
:func:`event_to_json`) with nothing but Python's standard library:

* the hashed fields are ``seq, kind, at, message_id, document_id, system_id, address, codes,
  data``; ``at`` is UTC ISO-8601 with its offset (``2025-07-01T03:00:00+00:00``), ``codes`` a
  list of strings, ``data`` any JSON object;
* canonical JSON = ``json.dumps(fields, sort_keys=True, ensure_ascii=False,
  separators=(",", ":"))`` encoded as UTF-8;
* ``hash = sha256(prev_hash.encode("ascii") + canonical).hexdigest()``.

A purged log starts later than seq 1: the oldest kept event's ``prev_hash`` is then taken as the
anchor (the purge event records it), and the chain is checked from there on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any, Final

from axis.store.records import AuditDraft, AuditEvent, ChainVerdict
from registry.model import VersionInfo

GENESIS: Final = "0" * 64
"""The ``prev_hash`` of the very first event."""

HASHED_FIELDS: Final = (
    "seq",
    "kind",
    "at",
    "message_id",
    "document_id",
    "system_id",
    "address",
    "codes",
    "data",
)


def utc_text(moment: dt.datetime) -> str:
    """An aware instant as UTC ISO-8601 with offset: the one spelling that gets hashed."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"audit times must be timezone-aware, got {moment.isoformat()}")
    return moment.astimezone(dt.UTC).isoformat()


def _json_default(value: object) -> Any:
    """Data values JSON has no word for: instants as UTC text, tuples/sets as lists."""
    if isinstance(value, dt.datetime):
        return utc_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, frozenset | set):
        return sorted(value)
    raise TypeError(f"audit data cannot hold {type(value).__name__}")


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 text: equal content gives equal bytes, hence equal hash."""
    return json.dumps(
        value,
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=_json_default,
    )


def event_fields(
    seq: int,
    kind: str,
    at: dt.datetime,
    message_id: str | None,
    document_id: str | None,
    system_id: str | None,
    address: str | None,
    codes: Iterable[str],
    data: Mapping[str, Any],
) -> dict[str, Any]:
    """The hashed fields of an event in their JSON form."""
    return {
        "seq": seq,
        "kind": kind,
        "at": utc_text(at),
        "message_id": message_id,
        "document_id": document_id,
        "system_id": system_id,
        "address": address,
        "codes": list(codes),
        "data": json.loads(canonical_json(dict(data))),
    }


def hash_fields(prev_hash: str, fields: Mapping[str, Any]) -> str:
    """SHA-256 hex over the previous hash and the canonical JSON of ``fields``."""
    digest = hashlib.sha256(prev_hash.encode("ascii"))
    digest.update(canonical_json(dict(fields)).encode("utf-8"))
    return digest.hexdigest()


_encode_text = json.JSONEncoder(ensure_ascii=False).encode


def link(
    prev_hash: str,
    seq: int,
    kind: str,
    at: dt.datetime,
    message_id: str | None,
    document_id: str | None,
    system_id: str | None,
    address: str | None,
    codes: Iterable[str],
    data: Mapping[str, Any],
) -> tuple[str, str, str, str]:
    """The writer's fast path: ``(hash, at text, codes JSON, data JSON)`` of a new event.

    Builds the canonical JSON of the fields by concatenation in sorted-key order, the same text
    :func:`canonical_json` gives for :func:`event_fields` (tests hold the two equal), with one
    ``json.dumps`` of ``data`` instead of four: the audit chain is on every accept's path.
    """
    at_text = utc_text(at)
    codes_text = canonical_json(list(codes))
    data_text = canonical_json(dict(data))
    text = (
        f'{{"address":{_encode_text(address)},"at":"{at_text}","codes":{codes_text},'
        f'"data":{data_text},"document_id":{_encode_text(document_id)},'
        f'"kind":{_encode_text(kind)},"message_id":{_encode_text(message_id)},'
        f'"seq":{int(seq)},"system_id":{_encode_text(system_id)}}}'
    )
    digest = hashlib.sha256(prev_hash.encode("ascii"))
    digest.update(text.encode("utf-8"))
    return digest.hexdigest(), at_text, codes_text, data_text


def link_draft(prev_hash: str, seq: int, draft: AuditDraft) -> tuple[str, str, str, str]:
    """:func:`link` of an event not yet stored: every backend's append."""
    return link(
        prev_hash,
        seq,
        draft.kind,
        draft.at,
        draft.message_id,
        draft.document_id,
        draft.system_id,
        draft.address,
        draft.codes,
        draft.data,
    )


def event_hash(prev_hash: str, fields: Mapping[str, Any] | AuditEvent) -> str:
    """The link hash of an event (given as its JSON fields or as an :class:`AuditEvent`)."""
    if isinstance(fields, AuditEvent):
        fields = _fields_of(fields)
    return hash_fields(prev_hash, fields)


def _fields_of(event: AuditEvent) -> dict[str, Any]:
    return event_fields(
        event.seq,
        event.kind,
        event.at,
        event.message_id,
        event.document_id,
        event.system_id,
        event.address,
        event.codes,
        event.data,
    )


def event_to_json(event: AuditEvent) -> dict[str, Any]:
    """The export form: the hashed fields plus ``prev_hash`` and ``hash`` (one JSON line)."""
    out = _fields_of(event)
    out["prev_hash"] = event.prev_hash
    out["hash"] = event.hash
    return out


def json_lines(events: Iterable[AuditEvent]) -> bytes:
    """Events as export lines: one :func:`event_to_json` object per line, UTF-8."""
    return "".join(
        json.dumps(event_to_json(e), ensure_ascii=False, sort_keys=True) + "\n" for e in events
    ).encode("utf-8")


def event_from_json(data: Mapping[str, Any]) -> AuditEvent:
    """Inverse of :func:`event_to_json` (raises KeyError/ValueError on a malformed line)."""
    return AuditEvent(
        seq=int(data["seq"]),
        kind=str(data["kind"]),
        at=dt.datetime.fromisoformat(str(data["at"])),
        message_id=data.get("message_id"),
        document_id=data.get("document_id"),
        system_id=data.get("system_id"),
        address=data.get("address"),
        codes=tuple(str(c) for c in data.get("codes") or ()),
        data=dict(data.get("data") or {}),
        prev_hash=str(data["prev_hash"]),
        hash=str(data["hash"]),
    )


def verify_chain(events: Iterable[AuditEvent]) -> ChainVerdict:
    """Re-hash ``events`` (in seq order) and name the first one that does not fit.

    The first event is anchored by its own ``prev_hash`` unless it is seq 1, whose
    ``prev_hash`` must be :data:`GENESIS`; every later event must follow its predecessor
    (next seq, ``prev_hash`` = predecessor's ``hash``) and hash to its stored ``hash``.
    """
    checked = 0
    previous: AuditEvent | None = None
    for event in events:
        reason = _link_problem(previous, event)
        if reason is None and event_hash(event.prev_hash, event) != event.hash:
            reason = "the stored hash does not match the event's content"
        if reason is not None:
            return ChainVerdict(ok=False, checked=checked, first_broken=event.seq, reason=reason)
        checked += 1
        previous = event
    return ChainVerdict(ok=True, checked=checked)


def _link_problem(previous: AuditEvent | None, event: AuditEvent) -> str | None:
    if previous is None:
        if event.seq == 1 and event.prev_hash != GENESIS:
            return "the first event does not start from the genesis hash"
        return None
    if event.seq != previous.seq + 1:
        return f"seq {event.seq} does not follow {previous.seq} (an event is missing)"
    if event.prev_hash != previous.hash:
        return f"prev_hash does not match the hash of event {previous.seq}"
    return None


def version_audit(info: VersionInfo) -> AuditDraft:
    """The audit event of a stored registry version (every backend writes this one)."""
    ops = Counter(change.op for change in info.changes)
    return AuditDraft(
        "registry.version",
        info.created_at,
        data={
            "version": info.number,
            "author": info.author,
            "reason": info.reason,
            "effective": None if info.effective is None else info.effective.isoformat(),
            "changes": dict(sorted(ops.items())),
        },
    )

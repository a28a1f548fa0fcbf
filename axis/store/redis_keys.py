"""The Redis store's key layout and the translation between stored JSON and records.

Every key starts with ``axis:``. Curly braces are Redis Cluster hash tags: keys with the same
tag live in the same slot, hence on the same master. Two kinds of slot:

* **The coordination slot** ``{axis}``: every key the ordered commit writes (the head, the
  messages' metadata, deliveries, inboxes, indexes, the audit chain, the registry). The commit
  is one Lua script, and a script may only touch keys of one slot, so all of these share the
  tag; on a cluster they live on one master.
* **Payload shards** ``{p<b>}``, ``b`` in ``0 .. PAYLOAD_BUCKETS - 1``: the edXML bytes, the
  bulk of the store, written before the commit (see :mod:`axis.store.redis_payloads`). The
  buckets' tags hash to slots all over the 16384, so a cluster spreads them over its masters.

Why the per-agency and per-message keys cannot leave ``{axis}``, and what shards instead:
``docs/scale.md`` ("Redis topology").

Coordination slot, per agency code ``C`` (``q(C)``: ``C`` with ``%`` and ``:`` escaped, so a
code can never run into the next part of the key):

* ``axis:{axis}:inbox:C``  sorted set, member = message id, score = delivery seq: C's OPEN
  deliveries (pending or fetched); the inbox cursor is the seq.
* ``axis:{axis}:sent:C``  sorted set, member = message id, score = message number ``n``.
* ``axis:{axis}:doc:q(C):<document id>`` / ``axis:{axis}:refers:q(C):<document id>``  sorted
  sets of C's messages (score ``n``) with that DocumentId / answering or revoking it
  (``find_messages``, revokes, status history).

Per message ``M``:

* ``axis:{axis}:m:M``  string, the message's metadata as JSON (plus ``n``, its idempotency key
  and ``payload``, the reference of its payload in a shard);
* ``axis:{axis}:dlv:M``  hash, recipient code -> the delivery as JSON;
* ``axis:{axis}:status:M``  list of the business status entries (JSON), oldest first;
* ``axis:{p<b>}:payload:M.<nonce>``  string, the edXML bytes as received (the nonce is drawn
  per accept, so an accept that loses, a duplicate or a reused id, never overwrites a stored
  payload).

Global, coordination slot:

* ``axis:{axis}:head``  hash: ``seq``/``hash`` (the audit chain's tail), ``first`` (the oldest
  kept event), ``dseq`` (the last delivery seq), ``mseq`` (the last message number),
  ``registry`` (the newest registry version), ``layout`` (:data:`LAYOUT`), ``epoch`` (bumped
  by EVERY write: what the commit script checks, see :mod:`axis.store.redis_tx`);
* ``axis:{axis}:idem``  hash, idempotency key -> message id;
* ``axis:{axis}:received``  sorted set of message ids by receipt time (microseconds): retention;
* ``axis:{axis}:leases``  sorted set of fetched deliveries (``[M, C]`` JSON) by fetch time;
* ``axis:{axis}:dead``  sorted set of dead letters (``[M, C]``) by seq;
* ``axis:{axis}:counts``  hash, delivery state -> how many;
* ``axis:{axis}:drains`` / ``axis:{axis}:moves`` / ``axis:{axis}:systems``  hashes;
* ``axis:{axis}:doomed``  set of payload references whose messages a purge removed, until
  their payloads are deleted from the shards;
* ``axis:{axis}:audit``  hash, seq -> the event as JSON; ``axis:{axis}:aix:<field>:<value>``
  sorted sets (member and score = seq) index it by message, document, system, kind and code;
* ``axis:{axis}:reg:versions`` (number -> version JSON), ``axis:{axis}:reg:agencies`` (code ->
  ``{valid_from: agency}``), ``axis:{axis}:reg:successions`` (closed code -> ``{effective:
  succession}``), ``axis:{axis}:reg:to`` (successor code -> closed codes naming it).

Per payload shard ``b``: ``axis:{p<b>}:written``, sorted set of the payloads written but not
yet known committed (member = reference, score = when, in milliseconds): the orphan sweep's
work list.

Pub/sub channels ``axis:{axis}:wake:deliveries`` (a JSON list of codes that got a new cursor)
and ``axis:{axis}:wake:registry`` (the new version number) wake long polls in every process.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import Any, Final, cast

from axis.store.codec import dumps as dumps  # re-exported: the backend's modules read it here
from axis.store.codec import from_utc_text, utc_text
from axis.store.codec import parse_cursor as parse_cursor
from axis.store.records import (
    Delivery,
    DeliveryState,
    MessageInfo,
    MessageKind,
    Role,
    StatusEntry,
    SystemRecord,
)

G: Final = "axis:{axis}"
HEAD: Final = f"{G}:head"
IDEM: Final = f"{G}:idem"
RECEIVED: Final = f"{G}:received"
LEASES: Final = f"{G}:leases"
DEAD: Final = f"{G}:dead"
COUNTS: Final = f"{G}:counts"
DRAINS: Final = f"{G}:drains"
MOVES: Final = f"{G}:moves"
SYSTEMS: Final = f"{G}:systems"
ENTRIES: Final = f"{G}:entries"
AUDIT: Final = f"{G}:audit"
REG_VERSIONS: Final = f"{G}:reg:versions"
REG_AGENCIES: Final = f"{G}:reg:agencies"
REG_SUCCESSIONS: Final = f"{G}:reg:successions"
REG_TO: Final = f"{G}:reg:to"
DOOMED: Final = f"{G}:doomed"
WAKE_DELIVERIES: Final = f"{G}:wake:deliveries"
WAKE_REGISTRY: Final = f"{G}:wake:registry"


LAYOUT: Final = "2"
"""The key layout's version, kept in the head: ``2`` is the one above. Layout 1 (before the
payload shards: per-agency and per-message hash tags, payloads inside the commit) is refused
at open rather than read as an empty store."""

PAYLOAD_BUCKETS: Final = 1024
"""How many payload shards. Fixed for the life of a store: a payload's reference names its
bucket, so changing it only changes where new payloads go. 1024 tags spread evenly over up to
a few hundred masters."""


to_text = utc_text  # this backend's name for the shared spelling (axis.store.codec)
from_text = from_utc_text


def _q(code: str) -> str:
    """An agency code as the middle part of a key: ``%`` and ``:`` escaped, so that two
    (code, document id) pairs never make the same key."""
    return code.replace("%", "%25").replace(":", "%3A")


def inbox_key(code: str) -> str:
    return f"{G}:inbox:{code}"


def sent_key(code: str) -> str:
    return f"{G}:sent:{code}"


def doc_key(code: str, document_id: str) -> str:
    return f"{G}:doc:{_q(code)}:{document_id}"


def refers_key(code: str, document_id: str) -> str:
    return f"{G}:refers:{_q(code)}:{document_id}"


def message_key(message_id: str) -> str:
    return f"{G}:m:{message_id}"


def deliveries_key(message_id: str) -> str:
    return f"{G}:dlv:{message_id}"


def statuses_key(message_id: str) -> str:
    return f"{G}:status:{message_id}"


def payload_key(bucket: int, name: str) -> str:
    """A payload's bytes in its shard (``name``: the message id and the accept's nonce)."""
    return f"axis:{{p{bucket}}}:payload:{name}"


def written_key(bucket: int) -> str:
    """A shard's payloads written but not yet known committed (the orphan sweep's list)."""
    return f"axis:{{p{bucket}}}:written"


def audit_index_key(field: str, value: str) -> str:
    return f"{G}:aix:{field}:{value}"


def pair(message_id: str, code: str) -> str:
    """The member naming one delivery in the global sorted sets (leases, dead letters)."""
    return dumps([message_id, code])


def unpair(member: str) -> tuple[str, str]:
    message_id, code = json.loads(member)
    return str(message_id), str(code)


# --- values ----------------------------------------------------------------------------------


def text(value: object) -> str:
    """A reply as text: the client decodes replies, but its types say ``bytes | str``."""
    return value.decode() if isinstance(value, bytes) else str(value)


def texts(values: Iterable[object]) -> list[str]:
    return [text(value) for value in values]


_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def score(moment: dt.datetime) -> int:
    """Whole microseconds since 1970: exact in a sorted set's double (below 2**53)."""
    return (aware(moment) - _EPOCH) // dt.timedelta(microseconds=1)


def aware(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"store times must be timezone-aware, got {moment.isoformat()}")
    return moment.astimezone(dt.UTC)


# --- records ---------------------------------------------------------------------------------


def message_to_json(info: MessageInfo, n: int, idempotency_key: str, payload: str) -> str:
    return dumps(
        {
            "id": info.message_id,
            "kind": info.kind,
            "sender_system": info.sender_system,
            "sender_code": info.sender_code,
            "document_id": info.document_id,
            "business_type": info.business_type,
            "received_at": to_text(info.received_at),
            "size": info.size,
            "subject": info.subject,
            "status_code": info.status_code,
            "refers_to": info.refers_to,
            "meta": dict(info.meta),
            "n": n,
            "idem": idempotency_key,
            "payload": payload,
        }
    )


def message_from_json(text: str) -> tuple[MessageInfo, dict[str, Any]]:
    """The record and the raw JSON (which also holds ``n``, ``idem`` and ``payload``)."""
    raw: dict[str, Any] = json.loads(text)
    info = MessageInfo(
        message_id=raw["id"],
        kind=cast(MessageKind, raw["kind"]),
        sender_system=raw["sender_system"],
        sender_code=raw["sender_code"],
        document_id=raw["document_id"],
        business_type=int(raw["business_type"]),
        received_at=from_text(raw["received_at"]),
        size=int(raw["size"]),
        subject=raw["subject"],
        status_code=raw["status_code"],
        refers_to=raw["refers_to"],
        meta=raw["meta"],
    )
    return info, raw


def delivery_row(delivery: Delivery, fetched_at: dt.datetime | None = None) -> dict[str, Any]:
    """A delivery as stored: the record's fields plus the lease's start (``fetched_at``)."""
    return {
        "seq": delivery.seq,
        "message_id": delivery.message_id,
        "code": delivery.code,
        "requested": delivery.requested,
        "state": delivery.state,
        "attempts": delivery.attempts,
        "updated_at": to_text(delivery.updated_at),
        "fetched_at": None if fetched_at is None else to_text(fetched_at),
        "reason": delivery.reason,
        "resolution": dict(delivery.resolution),
    }


def delivery_from_row(row: Mapping[str, Any]) -> Delivery:
    return Delivery(
        seq=int(row["seq"]),
        message_id=row["message_id"],
        code=row["code"],
        requested=row["requested"],
        state=cast(DeliveryState, row["state"]),
        attempts=int(row["attempts"]),
        updated_at=from_text(row["updated_at"]),
        reason=row["reason"],
        resolution=row["resolution"],
    )


def status_to_json(entry: StatusEntry) -> str:
    return dumps(
        {
            "message_id": entry.message_id,
            "code": entry.code,
            "status_code": entry.status_code,
            "at": to_text(entry.at),
            "status_message_id": entry.status_message_id,
        }
    )


def status_from_json(text: str) -> StatusEntry:
    raw = json.loads(text)
    return StatusEntry(
        message_id=raw["message_id"],
        code=raw["code"],
        status_code=raw["status_code"],
        at=from_text(raw["at"]),
        status_message_id=raw["status_message_id"],
    )


def system_to_json(system: SystemRecord) -> str:
    return dumps(
        {
            "system_id": system.system_id,
            "role": system.role,
            "codes": list(system.codes),
            "secret_hash": system.secret_hash,
            "cert_sha256": system.cert_sha256,
            "created_at": to_text(system.created_at),
            "revoked_at": None if system.revoked_at is None else to_text(system.revoked_at),
            "exact_codes": system.exact_codes,
        }
    )


def system_from_json(text: str) -> SystemRecord:
    raw = json.loads(text)
    revoked = raw["revoked_at"]
    return SystemRecord(
        system_id=raw["system_id"],
        role=cast(Role, raw["role"]),
        codes=tuple(raw["codes"]),
        secret_hash=raw["secret_hash"],
        cert_sha256=raw["cert_sha256"],
        created_at=from_text(raw["created_at"]),
        revoked_at=None if revoked is None else from_text(revoked),
        exact_codes=bool(raw["exact_codes"]),
    )


def entries_key(kind: str) -> str:
    """The hash of one kind of admin entry (signer bindings, proposals)."""
    return f"{ENTRIES}:{kind}"

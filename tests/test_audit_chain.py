"""The audit hash chain: its hash is re-computable with the standard library alone, and any
edit, removal or reordering of an event is named by the first broken seq."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from zoneinfo import ZoneInfo

import pytest

from axis.audit import (
    GENESIS,
    event_fields,
    event_from_json,
    event_hash,
    event_to_json,
    link,
    verify_chain,
)
from axis.store.records import AuditEvent

T0 = dt.datetime(2025, 7, 1, 3, 0, tzinfo=dt.UTC)
SUBJECT = "Công văn về việc sáp nhập tỉnh Lào Cai và Yên Bái"


def chain(count: int, start: int = 1, prev: str = GENESIS) -> list[AuditEvent]:
    """``count`` linked events starting at ``start`` on ``prev``."""
    events = []
    for seq in range(start, start + count):
        fields = event_fields(
            seq,
            "message.accepted",
            T0 + dt.timedelta(seconds=seq),
            f"m-{seq}",
            "123/UBND-VP",
            "qlvb-laocai",
            "10.0.0.7" if seq % 2 else None,
            ("H38", "H44"),
            {"subject": SUBJECT, "size": seq * 100, "redirected": {"H63": "H38"}},
        )
        digest = event_hash(prev, fields)
        events.append(
            AuditEvent(
                seq=seq,
                kind=fields["kind"],
                at=T0 + dt.timedelta(seconds=seq),
                message_id=fields["message_id"],
                document_id=fields["document_id"],
                system_id=fields["system_id"],
                address=fields["address"],
                codes=("H38", "H44"),
                data=fields["data"],
                prev_hash=prev,
                hash=digest,
            )
        )
        prev = digest
    return events


def stdlib_hash(line: dict[str, object]) -> str:
    """What a third party computes from one exported JSON line, by the documented rule."""
    fields = {k: v for k, v in line.items() if k not in ("prev_hash", "hash")}
    canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    prev = str(line["prev_hash"])
    return hashlib.sha256(prev.encode("ascii") + canonical.encode("utf-8")).hexdigest()


def test_an_intact_chain_verifies() -> None:
    verdict = verify_chain(chain(6))
    assert verdict.ok
    assert verdict.checked == 6
    assert verdict.first_broken is None
    assert verify_chain([]).ok


def test_the_export_is_verifiable_with_the_standard_library_alone() -> None:
    events = chain(4)
    lines = [json.dumps(event_to_json(e), ensure_ascii=False) for e in events]
    prev = GENESIS
    for text in lines:
        line = json.loads(text)
        assert line["prev_hash"] == prev
        assert stdlib_hash(line) == line["hash"]
        prev = line["hash"]
    assert json.loads(lines[0])["at"] == "2025-07-01T03:00:01+00:00"
    assert json.loads(lines[0])["data"]["subject"] == SUBJECT
    again = [event_from_json(json.loads(text)) for text in lines]
    assert again == events
    assert verify_chain(again).ok


def test_the_hash_does_not_depend_on_the_time_zone_or_key_order() -> None:
    fields = event_fields(1, "k", T0, None, None, None, None, (), {"b": 1, "a": SUBJECT})
    hanoi = T0.astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
    same = event_fields(1, "k", hanoi, None, None, None, None, [], {"a": SUBJECT, "b": 1})
    assert fields == same
    assert event_hash(GENESIS, fields) == event_hash(GENESIS, same)
    assert fields["at"] == "2025-07-01T03:00:00+00:00"
    other = event_fields(1, "k", T0, None, None, None, None, (), {"b": 2, "a": SUBJECT})
    assert event_hash(GENESIS, fields) != event_hash(GENESIS, other)
    assert event_hash(GENESIS, fields) != event_hash("1" * 64, fields)


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        event_fields(1, "k", dt.datetime(2025, 7, 1), None, None, None, None, (), {})


@pytest.mark.parametrize(
    "edit",
    [
        {"data": {"subject": "Công văn khác"}},
        {"kind": "message.rejected"},
        {"codes": ("H38",)},
        {"at": T0},
        {"address": "10.0.0.8"},
        {"hash": "f" * 64},
    ],
)
def test_an_edited_event_is_the_first_broken(edit: dict[str, object]) -> None:
    events = chain(6)
    events[3] = dataclasses.replace(events[3], **edit)  # type: ignore[arg-type]
    verdict = verify_chain(events)
    assert not verdict.ok
    assert verdict.first_broken == 4
    assert verdict.checked == 3
    assert verdict.reason


def test_a_removed_or_reordered_event_breaks_the_chain() -> None:
    events = chain(6)
    missing = verify_chain([*events[:2], *events[3:]])
    assert missing.first_broken == 4
    assert missing.reason is not None
    assert "missing" in missing.reason
    swapped = verify_chain([events[0], events[2], events[1], *events[3:]])
    assert swapped.first_broken == 3


def test_a_rehashed_forgery_still_breaks_the_next_link() -> None:
    events = chain(5)
    forged_fields = event_fields(
        3, "message.accepted", T0, "m-3", None, None, None, (), {"subject": "giả mạo"}
    )
    forged = dataclasses.replace(
        events[2],
        data=forged_fields["data"],
        at=T0,
        codes=(),
        document_id=None,
        system_id=None,
        address=None,
        hash=event_hash(events[2].prev_hash, forged_fields),
    )
    verdict = verify_chain([*events[:2], forged, *events[3:]])
    assert verdict.first_broken == 4
    assert "prev_hash" in (verdict.reason or "")


def test_a_purged_chain_verifies_from_its_oldest_kept_event() -> None:
    events = chain(10)
    assert verify_chain(events[4:]).ok
    assert verify_chain(events[4:]).checked == 6
    bad_start = dataclasses.replace(events[0], prev_hash="1" * 64)
    assert verify_chain([bad_start]).first_broken == 1
    later = chain(3, start=11, prev=events[-1].hash)
    assert verify_chain([*events, *later]).ok


@pytest.mark.parametrize(
    "values",
    [
        (7, "message.accepted", T0, "m-1", "123/UBND-VP", "qlvb", "10.0.0.7", ("H38",), {}),
        (
            1_000_000,
            'ký "trích dẫn" \\ \n',
            T0.replace(microsecond=123),
            None,
            None,
            None,
            None,
            (),
            {"subject": SUBJECT, "list": (1, 2.5, None, True), "nested": {"z": [], "a": "é"}},
        ),
    ],
)
def test_the_writers_fast_path_hashes_exactly_as_the_documented_rule(
    values: tuple[object, ...],
) -> None:
    fields = event_fields(*values)  # type: ignore[arg-type]
    digest, at_text, codes_text, data_text = link(GENESIS, *values)  # type: ignore[arg-type]
    assert digest == event_hash(GENESIS, fields)
    assert at_text == fields["at"]
    assert json.loads(codes_text) == fields["codes"]
    assert json.loads(data_text) == fields["data"]
    line = {**fields, "prev_hash": GENESIS, "hash": digest}
    assert stdlib_hash(json.loads(json.dumps(line))) == digest

"""The contract every :class:`axis.store.protocol.Store` backend passes, whatever it stores in.

Written against the protocol only. A backend's test module provides a ``store_factory`` fixture
(each call: a NEW, unopened store over the SAME backing storage of the test, so reopening can
be tested) and imports these tests with ``from tests.store_contract import *``.

No async plugin is installed: each test is an ``async def`` taking the opened store, wrapped by
:func:`contract` into a plain test that runs it with ``asyncio.run`` and closes the store after.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from axis.store.protocol import Store
from axis.store.records import (
    AuditDraft,
    AuditFilter,
    NewMessage,
    Recipient,
    SystemRecord,
    new_message_id,
)
from edxml.errors import CodedError
from registry.model import Agency, Change
from registry.store import StoreError
from registry.versions import diff
from tests.test_registry_resolve import sample_registry

StoreFactory = Callable[[], Store]
Body = Callable[[Store], Awaitable[None]]

T0 = dt.datetime(2025, 7, 1, 3, 0, tzinfo=dt.UTC)
SUBJECT = "Công văn về việc sáp nhập tỉnh Lào Cai và Yên Bái"
PAYLOAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<edXMLEnvelope>'
    f"<Subject>{SUBJECT}</Subject></edXMLEnvelope>\r\n"
).encode() + bytes(range(256))


@pytest.fixture
def store_factory() -> StoreFactory:
    """Collected on its own the contract has no backend: each backend's module overrides this."""
    pytest.skip("the store contract runs in each backend's module (tests/test_store_sqlite.py)")


async def _opened(store: Store, body: Body) -> None:
    await store.open()
    try:
        await body(store)
    finally:
        await store.close()


def run_opened(store: Store, body: Body) -> None:
    """``body`` on ``store`` opened for it and closed after, on a fresh event loop."""
    asyncio.run(_opened(store, body))


def contract(body: Body) -> Callable[[StoreFactory], None]:
    """A sync pytest test running ``body`` on a freshly opened store from ``store_factory``."""

    def test(store_factory: StoreFactory) -> None:
        run_opened(store_factory(), body)

    test.__name__ = body.__name__
    test.__qualname__ = body.__qualname__
    test.__doc__ = body.__doc__
    return test


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def draft(kind: str, when: dt.datetime = T0, **fields: Any) -> AuditDraft:
    return AuditDraft(kind, when, **fields)


def edoc(
    *to: str,
    sender: str = "G17",
    doc: str = "123/UBND-VP",
    key: str | None = None,
    when: dt.datetime = T0,
    business_type: int = 0,
    revokes: bool = False,
    refers_to: str | None = None,
    requested: dict[str, str] | None = None,
    payload: bytes = PAYLOAD,
) -> NewMessage:
    """An edoc from ``sender`` to codes ``to`` (``requested`` maps a code to what was asked)."""
    message_id = new_message_id(when)
    asked = requested or {}
    return NewMessage(
        message_id=message_id,
        kind="edoc",
        idempotency_key=key or f"key-{message_id}",
        sender_system=f"sys-{sender}",
        sender_code=sender,
        document_id=doc,
        business_type=business_type,
        received_at=when,
        payload=payload,
        recipients=tuple(
            Recipient(asked.get(code, code), code, {"status": "active", "note": "Lào Cai"})
            for code in to
        ),
        subject=SUBJECT,
        refers_to=refers_to,
        revokes=revokes,
        meta={"ghi_chú": "Yên Bái", "attachments": 2},
        audit=(draft("message.accepted", when, system_id=f"sys-{sender}", codes=to),),
    )


def status(
    sender: str, original_sender: str, doc: str, code: str, when: dt.datetime = T0
) -> NewMessage:
    """A status package from ``sender`` about ``original_sender``'s document ``doc``."""
    message_id = new_message_id(when)
    return NewMessage(
        message_id=message_id,
        kind="status",
        idempotency_key=f"key-{message_id}",
        sender_system=f"sys-{sender}",
        sender_code=sender,
        document_id=f"status-{message_id}",
        business_type=0,
        received_at=when,
        payload=b"<Status/>",
        recipients=(Recipient(original_sender, original_sender),),
        status_code=code,
        refers_to=doc,
        status_for=(original_sender, doc),
        audit=(draft("message.accepted", when, system_id=f"sys-{sender}"),),
    )


async def _events(store: Store, **query: Any) -> list[Any]:
    page = await store.audit_events(AuditFilter(**query), limit=10_000)
    return list(page.items)


# --- accept ----------------------------------------------------------------------------------


@contract
async def test_accept_stores_everything_and_returns_deliveries(store: Store) -> None:
    msg = edoc("H38", "H44", requested={"H38": "H63"})
    outcome = await store.accept(msg)
    assert outcome.message_id == msg.message_id
    assert not outcome.duplicate
    assert outcome.withdrawn == ()
    assert [(d.code, d.requested, d.state) for d in outcome.deliveries] == [
        ("H38", "H63", "pending"),
        ("H44", "H44", "pending"),
    ]
    assert outcome.deliveries[0].seq < outcome.deliveries[1].seq
    info = await store.message(msg.message_id)
    assert info is not None
    assert info.subject == SUBJECT
    assert info.sender_code == "G17"
    assert info.document_id == "123/UBND-VP"
    assert info.size == len(PAYLOAD)
    assert info.received_at == T0
    assert dict(info.meta) == {"ghi_chú": "Yên Bái", "attachments": 2}
    assert await store.payload(msg.message_id) == PAYLOAD
    stored = await store.deliveries(msg.message_id)
    assert stored == outcome.deliveries
    assert dict(stored[0].resolution) == {"status": "active", "note": "Lào Cai"}
    found = await store.find_messages("G17", "123/UBND-VP")
    assert [m.message_id for m in found] == [msg.message_id]
    events = await _events(store, message_id=msg.message_id)
    assert [e.kind for e in events] == ["message.accepted"]
    assert events[0].document_id == "123/UBND-VP"
    assert await store.message_with_deliveries(msg.message_id) == (info, stored)
    assert await store.message("nope") is None
    assert await store.payload("nope") is None
    assert await store.message_with_deliveries("nope") is None


@contract
async def test_a_duplicate_key_returns_the_first_message(store: Store) -> None:
    first = edoc("H38", key="resend-1")
    again = dataclasses.replace(edoc("H38", key="resend-1"), subject="khác")
    one = await store.accept(first)
    two = await store.accept(again)
    assert two.duplicate
    assert two.message_id == one.message_id == first.message_id
    assert two.deliveries == one.deliveries
    assert await store.message(again.message_id) is None
    assert len((await store.inbox(["H38"])).items) == 1
    assert len(await _events(store, kind="message.accepted")) == 1


@contract
async def test_twenty_concurrent_accepts_of_one_key_store_one_message(store: Store) -> None:
    copies = [edoc("H38", key="same-key") for _ in range(20)]
    outcomes = await asyncio.gather(*(store.accept(m) for m in copies))
    assert len({o.message_id for o in outcomes}) == 1
    assert sum(not o.duplicate for o in outcomes) == 1
    assert len((await store.inbox(["H38"])).items) == 1
    assert len(await _events(store, kind="message.accepted")) == 1
    assert (await store.verify_audit()).ok


@contract
async def test_two_hundred_concurrent_accepts_all_land(store: Store) -> None:
    messages = [edoc("H38", doc=f"{n}/UBND") for n in range(200)]
    outcomes = await asyncio.gather(*(store.accept(m) for m in messages))
    assert all(not o.duplicate for o in outcomes)
    seen: list[str] = []
    cursor: str | None = None
    while True:
        page = await store.inbox(["H38"], after=cursor, limit=64)
        seen.extend(item.message.message_id for item in page.items)
        if page.cursor is None:
            break
        cursor = page.cursor
    assert sorted(seen) == sorted(m.message_id for m in messages)
    for msg in messages[::37]:
        assert await store.payload(msg.message_id) == PAYLOAD
    verdict = await store.verify_audit()
    assert verdict.ok
    assert verdict.checked == 200


# --- inbox -----------------------------------------------------------------------------------


@contract
async def test_inbox_pages_with_a_cursor_in_delivery_order(store: Store) -> None:
    ids = [
        (await store.accept(edoc("H38", doc=f"{n}/CV", when=at(n)))).message_id for n in range(7)
    ]
    pages = []
    cursor: str | None = None
    while True:
        page = await store.inbox(["H38"], after=cursor, limit=3)
        pages.append([item.message.message_id for item in page.items])
        if page.cursor is None:
            break
        cursor = page.cursor
    assert pages == [ids[0:3], ids[3:6], ids[6:7]]
    last = await store.inbox(["H38"])
    assert last.cursor is None
    tail = await store.inbox(["H38"], after=last.items[-1].delivery.cursor)
    assert tail.items == ()


@contract
async def test_delivery_counts_follow_the_states(store: Store) -> None:
    first = await store.accept(edoc("H38", "H44", doc="1/CV"))
    await store.accept(edoc("H38", doc="2/CV", when=at(1)))
    assert await store.delivery_counts() == {"pending": 3}
    await store.mark_fetched(first.message_id, ["H38"], at(2), draft("message.fetched"))
    await store.ack(first.message_id, ["H44"], "fail", "hỏng", at(3), draft("message.acked"))
    counts = await store.delivery_counts()
    assert {k: v for k, v in counts.items() if v} == {"pending": 1, "fetched": 1, "fail": 1}


@contract
async def test_an_inbox_over_many_codes_pages_in_order(store: Store) -> None:
    """A province's system reads for hundreds of codes at once (its departments, communes)."""
    codes = [f"000.{n // 100:02d}.{n % 100:02d}.H38" for n in range(450)]
    picked = [codes[5], codes[230], codes[449], codes[120]]
    ids = [
        (await store.accept(edoc(code, doc=f"{n}/CV", when=at(n)))).message_id
        for n, code in enumerate(picked)
    ]
    first = await store.inbox(codes, limit=3)
    assert [i.message.message_id for i in first.items] == ids[:3]
    assert first.cursor is not None
    rest = await store.inbox(codes, after=first.cursor, limit=3)
    assert [i.message.message_id for i in rest.items] == ids[3:]
    assert rest.cursor is None


@contract
async def test_inbox_filters_by_kind_and_receipt_time(store: Store) -> None:
    early = await store.accept(edoc("G17", sender="H38", doc="A", when=at(0)))
    late = await store.accept(edoc("G17", sender="H38", doc="B", when=at(60)))
    await store.accept(edoc("H38", sender="G17", doc="A-orig", when=at(-5)))
    answer = await store.accept(status("H44", "G17", "nothing", "03", when=at(30)))

    async def ids(**filters: Any) -> list[str]:
        page = await store.inbox(["G17"], **filters)
        return [item.message.message_id for item in page.items]

    assert await ids() == [early.message_id, late.message_id, answer.message_id]
    assert await ids(kind="status") == [answer.message_id]
    assert await ids(kind="edoc") == [early.message_id, late.message_id]
    assert await ids(since=at(30)) == [late.message_id, answer.message_id]
    assert await ids(until=at(30)) == [early.message_id]
    assert await ids(since=at(1), until=at(59)) == [answer.message_id]


@contract
async def test_a_code_never_sees_another_codes_deliveries(store: Store) -> None:
    to_h38 = await store.accept(edoc("H38"))
    to_h44 = await store.accept(edoc("H44"))
    both = await store.accept(edoc("H38", "H44"))

    async def ids(codes: list[str]) -> list[str]:
        return [item.message.message_id for item in (await store.inbox(codes)).items]

    assert await ids(["H38"]) == [to_h38.message_id, both.message_id]
    assert await ids(["H44"]) == [to_h44.message_id, both.message_id]
    assert await ids(["G17"]) == []
    assert await ids([]) == []
    for item in (await store.inbox(["H44"])).items:
        assert item.delivery.code == "H44"
    mixed = (await store.inbox(["H44", "H38", "H44"])).items
    assert [(i.message.message_id, i.delivery.code) for i in mixed] == [
        (to_h38.message_id, "H38"),
        (to_h44.message_id, "H44"),
        (both.message_id, "H38"),
        (both.message_id, "H44"),
    ]


@contract
async def test_inbox_pages_merge_codes_and_states_in_cursor_order(store: Store) -> None:
    sent = [await store.accept(edoc("H38" if n % 3 else "H44", doc=f"{n}")) for n in range(12)]
    for outcome in sent[::2]:
        code = outcome.deliveries[0].code
        await store.mark_fetched(outcome.message_id, [code], at(1), draft("message.fetched"))
    expected = [o.deliveries[0].seq for o in sent]
    seen: list[int] = []
    cursor: str | None = None
    while True:
        page = await store.inbox(["H38", "H44"], after=cursor, limit=5, kind="edoc")
        seen.extend(item.delivery.seq for item in page.items)
        assert {item.delivery.state for item in page.items} <= {"pending", "fetched"}
        if page.cursor is None:
            break
        cursor = page.cursor
    assert seen == expected


@contract
async def test_a_garbage_cursor_is_a_coded_error(store: Store) -> None:
    for garbage in ("abc", "-1", "1.5", "", "１２"):
        with pytest.raises(CodedError) as refused:
            await store.inbox(["H38"], after=garbage)
        assert refused.value.code == "store.bad_cursor"
    with pytest.raises(CodedError):
        await store.audit_events(AuditFilter(), after="x")
    with pytest.raises(CodedError):
        await store.wait_for_delivery(["H38"], "x", 0.01)


@contract
async def test_wait_for_delivery_wakes_on_an_accept_for_its_code(store: Store) -> None:
    loop = asyncio.get_running_loop()
    waiting = asyncio.create_task(store.wait_for_delivery(["H38"], None, 30))
    other = asyncio.create_task(store.wait_for_delivery(["H44"], None, 0.3))
    await asyncio.sleep(0)  # let both register before the accept
    started = loop.time()
    outcome = await store.accept(edoc("H38"))
    assert await asyncio.wait_for(waiting, 10) is True
    assert loop.time() - started < 10
    assert await other is False
    cursor = outcome.deliveries[0].cursor
    assert await store.wait_for_delivery(["H38"], None, 0.01) is True  # already there
    assert await store.wait_for_delivery(["H38"], cursor, 0.05) is False  # nothing after


# --- fetch / ack / leases / dead letters -----------------------------------------------------


@contract
async def test_fetch_then_ack_and_a_second_ack_changes_nothing(store: Store) -> None:
    msg = edoc("H38", "H44")
    await store.accept(msg)
    fetched = await store.mark_fetched(
        msg.message_id, ["H38"], at(1), draft("message.fetched", at(1), system_id="sys-H38")
    )
    assert [(d.code, d.state, d.attempts) for d in fetched] == [("H38", "fetched", 1)]
    acked = await store.ack(
        msg.message_id, ["H38"], "done", None, at(2), draft("message.acked", at(2))
    )
    assert [(d.code, d.state) for d in acked] == [("H38", "done")]
    found = await store.message_with_deliveries(msg.message_id)
    assert found is not None
    assert [(d.code, d.state) for d in found[1]] == [("H38", "done"), ("H44", "pending")]
    before = await _events(store, message_id=msg.message_id)
    again = await store.ack(
        msg.message_id, ["H38"], "fail", "late", at(3), draft("message.acked", at(3))
    )
    assert [(d.code, d.state) for d in again] == [("H38", "done")]
    assert await _events(store, message_id=msg.message_id) == before
    assert [e.kind for e in before] == ["message.accepted", "message.fetched", "message.acked"]
    inbox = await store.inbox(["H38", "H44"])
    assert [(i.delivery.code, i.delivery.state) for i in inbox.items] == [("H44", "pending")]
    failed = await store.ack(
        msg.message_id, ["H44"], "fail", "không đọc được", at(4), draft("message.acked", at(4))
    )
    assert failed[0].state == "fail"
    assert failed[0].reason == "không đọc được"


@contract
async def test_expired_leases_requeue_then_die_and_admins_retry_or_cancel(store: Store) -> None:
    msg = edoc("H38")
    first = (await store.accept(msg)).deliveries[0]
    await store.mark_fetched(msg.message_id, ["H38"], at(1), draft("message.fetched", at(1)))
    assert await store.requeue_expired(at(0), 2, at(5)) == ()  # lease not expired yet
    requeued = await store.requeue_expired(at(2), 2, at(5))
    assert [(d.state, d.attempts) for d in requeued] == [("pending", 1)]
    assert requeued[0].seq > first.seq  # a new cursor: seen again past the old one
    page = await store.inbox(["H38"], after=first.cursor)
    assert [i.message.message_id for i in page.items] == [msg.message_id]
    await store.mark_fetched(msg.message_id, ["H38"], at(6), draft("message.fetched", at(6)))
    dead = await store.requeue_expired(at(7), 2, at(8))
    assert [(d.state, d.attempts) for d in dead] == [("dead", 2)]
    assert (await store.inbox(["H38"])).items == ()
    letters = await store.dead_letters()
    assert [(d.message_id, d.state) for d in letters.items] == [(msg.message_id, "dead")]
    kinds = [e.kind for e in await _events(store, message_id=msg.message_id)]
    assert kinds.count("requeued") == 1
    assert kinds.count("dead") == 1
    assert await store.retry_delivery("nope", "H38", at(9), draft("delivery.retried")) is None
    retried = await store.retry_delivery(
        msg.message_id, "H38", at(9), draft("delivery.retried", at(9), system_id="admin")
    )
    assert retried is not None
    assert retried.state == "pending"
    assert retried.seq > dead[0].seq
    assert (await store.dead_letters()).items == ()
    assert await store.retry_delivery(msg.message_id, "H38", at(10), draft("x")) is None
    cancelled = await store.cancel_delivery(
        msg.message_id, "H38", at(10), draft("delivery.cancelled", at(10))
    )
    assert cancelled is not None
    assert cancelled.state == "cancelled"
    assert await store.cancel_delivery(msg.message_id, "H38", at(11), draft("x")) is None
    assert (await store.inbox(["H38"])).items == ()
    kinds = [e.kind for e in await _events(store, message_id=msg.message_id)]
    assert kinds[-2:] == ["delivery.retried", "delivery.cancelled"]


@contract
async def test_dead_letters_page_fail_and_dead(store: Store) -> None:
    ids = []
    for n in range(5):
        msg = edoc("H38", doc=f"{n}")
        await store.accept(msg)
        await store.ack(msg.message_id, ["H38"], "fail", "hỏng", at(n), draft("message.acked"))
        ids.append(msg.message_id)
    first = await store.dead_letters(limit=3)
    assert first.cursor is not None
    rest = await store.dead_letters(after=first.cursor, limit=3)
    assert rest.cursor is None
    assert [d.message_id for d in (*first.items, *rest.items)] == ids


# --- revoke and status -----------------------------------------------------------------------


@contract
async def test_a_revoke_withdraws_unfetched_copies(store: Store) -> None:
    original = edoc("H38", "H44", "G04", doc="77/QĐ")
    await store.accept(original)
    await store.mark_fetched(original.message_id, ["H38"], at(1), draft("message.fetched"))
    await store.ack(original.message_id, ["G04"], "done", None, at(1), draft("message.acked"))
    revoke = edoc(
        "H38", "H44", "G04", "G17", sender="G17", doc="77/QĐ", when=at(5), business_type=1,
        revokes=True, refers_to="77/QĐ",
    )  # fmt: skip
    outcome = await store.accept(revoke)
    assert outcome.withdrawn == ("H44",)
    assert sorted(d.code for d in outcome.deliveries) == ["G04", "G17", "H38"]
    states = {d.code: d.state for d in await store.deliveries(original.message_id)}
    assert states == {"H38": "fetched", "H44": "withdrawn", "G04": "done"}
    assert [i.message.message_id for i in (await store.inbox(["H44"])).items] == []
    withdrawn = await _events(store, kind="withdrawn")
    assert [(e.message_id, e.codes) for e in withdrawn] == [(original.message_id, ("H44",))]
    # the recipients answer the revoke (status 15 = revoke received): it joins its history
    await store.accept(status("H38", "G17", "77/QĐ", "15", when=at(6)))
    assert [s.status_code for s in await store.statuses(revoke.message_id)] == ["15"]
    assert await store.statuses(original.message_id) == ()


@contract
async def test_status_packages_build_each_recipients_history(store: Store) -> None:
    original = edoc("H38", "H44", doc="55/CV", when=at(0))
    await store.accept(original)
    await store.accept(status("H38", "G17", "55/CV", "01", when=at(1)))
    await store.accept(status("H38", "G17", "55/CV", "03", when=at(2)))
    await store.accept(status("H44", "G17", "55/CV", "02", when=at(3)))
    history = await store.statuses(original.message_id)
    assert [(s.code, s.status_code) for s in history] == [
        ("H38", "01"),
        ("H38", "03"),
        ("H44", "02"),
    ]
    assert history[0].at == at(1)
    await store.mark_fetched(original.message_id, ["H44"], at(4), draft("message.fetched"))
    page = await store.sent(["G17"], kind="edoc")
    (item,) = page.items
    assert item.message.message_id == original.message_id
    assert {d.code: d.state for d in item.deliveries} == {"H38": "pending", "H44": "fetched"}
    assert {c: s.status_code for c, s in item.statuses.items()} == {"H38": "03", "H44": "02"}
    answers = await store.find_messages("H38", "55/CV", "status")
    assert len(answers) == 2
    on_trace = await store.audit_events(AuditFilter(message_id=original.message_id, kind="status"))
    assert [(e.codes, e.data["status_code"]) for e in on_trace.items] == [
        (("H38",), "01"),
        (("H38",), "03"),
        (("H44",), "02"),
    ]


@contract
async def test_status_15_and_16_answer_the_update_not_the_original(store: Store) -> None:
    update = edoc("H38", doc="9/CV", business_type=2, when=at(0))
    later = edoc("H38", doc="9/CV", business_type=0, when=at(1))
    await store.accept(update)
    await store.accept(later)
    await store.accept(status("H38", "G17", "9/CV", "16", when=at(2)))
    await store.accept(status("H38", "G17", "9/CV", "03", when=at(3)))
    assert [s.status_code for s in await store.statuses(update.message_id)] == ["16"]
    assert [s.status_code for s in await store.statuses(later.message_id)] == ["03"]


@contract
async def test_a_status_for_an_unknown_document_is_still_stored(store: Store) -> None:
    orphan = status("H38", "G17", "không-có", "03")
    outcome = await store.accept(orphan)
    assert [d.code for d in outcome.deliveries] == ["G17"]
    assert await store.payload(orphan.message_id) == b"<Status/>"
    (event,) = await _events(store, message_id=orphan.message_id)
    assert event.data.get("status_of", "missing") is None


@contract
async def test_sent_pages_newest_first(store: Store) -> None:
    ids = [(await store.accept(edoc("H38", doc=f"{n}", when=at(n)))).message_id for n in range(5)]
    await store.accept(edoc("G17", sender="H38"))
    first = await store.sent(["G17"], limit=2)
    assert [i.message.message_id for i in first.items] == ids[:2:-1][:2]
    rest = await store.sent(["G17"], after=first.cursor, limit=10)
    assert [i.message.message_id for i in rest.items] == [ids[2], ids[1], ids[0]]
    assert rest.cursor is None


# --- succession moves ------------------------------------------------------------------------


@contract
async def test_move_pending_follows_a_succession_once(store: Store) -> None:
    one = await store.accept(edoc("H63", doc="1"))
    two = await store.accept(edoc("H63", doc="2"))
    fetched = edoc("H63", doc="3")
    await store.accept(fetched)
    await store.mark_fetched(fetched.message_id, ["H63"], at(1), draft("message.fetched"))
    template = draft("delivery.moved", at(2), system_id="admin", data={"lý_do": "sáp nhập"})
    moved = await store.move_pending("H63", "H38", at(2), "H63->H38@2025-07-01", template)
    assert [(d.message_id, d.code, d.requested) for d in moved] == [
        (one.message_id, "H38", "H63"),
        (two.message_id, "H38", "H63"),
    ]
    assert min(d.seq for d in moved) > max(d.seq for d in (*one.deliveries, *two.deliveries))
    assert [i.message.message_id for i in (await store.inbox(["H63"])).items] == [
        fetched.message_id
    ]
    assert len((await store.inbox(["H38"])).items) == 2
    again = await store.move_pending("H63", "H38", at(3), "H63->H38@2025-07-01", template)
    assert {d.message_id for d in again} == {one.message_id, two.message_id}
    assert len((await store.inbox(["H38"])).items) == 2
    events = await _events(store, kind="delivery.moved")
    assert sorted(e.message_id for e in events) == sorted([one.message_id, two.message_id])
    assert all(e.data["lý_do"] == "sáp nhập" for e in events)


@contract
async def test_drains_round_trip(store: Store) -> None:
    assert await store.drains() == frozenset()
    await store.set_drain("H63", True, at(0), draft("drain.set", system_id="admin"))
    await store.set_drain("H30", True, at(0), draft("drain.set", system_id="admin"))
    await store.set_drain("H30", False, at(1), draft("drain.set", system_id="admin"))
    assert await store.drains() == frozenset({"H63"})
    assert len(await _events(store, kind="drain.set")) == 3


# --- audit -----------------------------------------------------------------------------------


@contract
async def test_audit_events_append_query_and_verify(store: Store) -> None:
    appended = await store.append_audit(
        [
            draft("auth.refused", at(0), system_id="sys-x", address="10.0.0.7", codes=("H38",)),
            draft("read.refused", at(5), message_id="m-1", document_id="d-1", codes=("H44",)),
            draft("auth.refused", at(10), system_id="sys-y", data={"lý_do": "chứng thư hết hạn"}),
        ]
    )
    assert [e.seq for e in appended] == sorted(e.seq for e in appended)
    assert appended[1].prev_hash == appended[0].hash

    async def kinds(**query: Any) -> list[str]:
        return [e.kind + ":" + str(e.seq) for e in await _events(store, **query)]

    seqs = [e.seq for e in appended]
    assert await kinds(kind="auth.refused") == [
        f"auth.refused:{seqs[0]}",
        f"auth.refused:{seqs[2]}",
    ]
    assert await kinds(system_id="sys-y") == [f"auth.refused:{seqs[2]}"]
    assert await kinds(message_id="m-1") == [f"read.refused:{seqs[1]}"]
    assert await kinds(document_id="d-1") == [f"read.refused:{seqs[1]}"]
    assert await kinds(code="H38") == [f"auth.refused:{seqs[0]}"]
    assert await kinds(since=at(5)) == [f"read.refused:{seqs[1]}", f"auth.refused:{seqs[2]}"]
    assert await kinds(until=at(5)) == [f"auth.refused:{seqs[0]}"]
    page = await store.audit_events(AuditFilter(), limit=2)
    assert page.cursor is not None
    rest = await store.audit_events(AuditFilter(), after=page.cursor, limit=2)
    assert [e.seq for e in (*page.items, *rest.items)] == seqs
    assert rest.cursor is None
    stored = rest.items[-1]
    assert stored.data == {"lý_do": "chứng thư hết hạn"}
    assert stored.address is None
    assert page.items[0].address == "10.0.0.7"
    verdict = await store.verify_audit()
    assert verdict.ok
    assert verdict.checked == 3


# --- systems ---------------------------------------------------------------------------------


@contract
async def test_systems_put_get_by_cert_list_and_revoke(store: Store) -> None:
    qlvb = SystemRecord("qlvb-laocai", "agency", ("H38", "H38.01"), "scrypt$abc", "ab" * 32, at(0))
    admin = SystemRecord("quản-trị", "admin", (), "scrypt$def", None, at(0), exact_codes=True)
    await store.put_system(qlvb, draft("system.put", system_id="root"))
    await store.put_system(admin, draft("system.put", system_id="root"))
    assert await store.system("qlvb-laocai") == qlvb
    assert await store.system("quản-trị") == admin
    assert await store.system("nope") is None
    assert await store.system_by_cert("ab" * 32) == qlvb
    assert await store.system_by_cert("cd" * 32) is None
    assert [s.system_id for s in await store.systems()] == ["qlvb-laocai", "quản-trị"]
    revoked = dataclasses.replace(qlvb, revoked_at=at(5))
    await store.put_system(revoked, draft("system.revoked", at(5), system_id="root"))
    assert await store.system_by_cert("ab" * 32) is None
    got = await store.system("qlvb-laocai")
    assert got is not None
    assert not got.active
    events = await _events(store, kind="system.revoked")
    assert events[0].codes == ("H38", "H38.01")


@contract
async def test_entries_put_replace_remove_by_kind_with_audit(store: Store) -> None:
    binding = {"codes": ["000.00.00.H38"], "subject": "CN=Nguyễn Văn Ánh"}
    await store.put_entry("signer", "ab" * 32, binding, draft("signer.bound", system_id="root"))
    await store.put_entry("signer", "0f" * 32, {"codes": []}, draft("signer.bound"))
    await store.put_entry("proposal", "p1", {"name": "Sở Nội vụ"}, draft("proposal.made"))
    assert list(await store.entries("signer")) == ["0f" * 32, "ab" * 32]
    assert (await store.entries("signer"))["ab" * 32] == binding
    replaced = {**binding, "codes": ["000.00.00.H38", "000.00.00.H40"]}
    await store.put_entry("signer", "ab" * 32, replaced, draft("signer.bound"))
    assert (await store.entries("signer"))["ab" * 32] == replaced
    await store.put_entry("signer", "0f" * 32, None, draft("signer.removed", at(1)))
    assert list(await store.entries("signer")) == ["ab" * 32]
    assert await store.entries("proposal") == {"p1": {"name": "Sở Nội vụ"}}
    assert await store.entries("nothing") == {}
    kinds = [e.kind for e in await _events(store)]
    assert kinds.count("signer.bound") == 3
    assert kinds.count("signer.removed") == 1
    assert (await store.verify_audit()).ok


# --- retention -------------------------------------------------------------------------------


@contract
async def test_purge_removes_old_messages_and_events_and_the_chain_still_verifies(
    store: Store,
) -> None:
    old = edoc("H38", doc="cũ", when=at(-400 * 24 * 60))
    new = edoc("H38", doc="mới", when=at(0))
    await store.accept(old)
    await store.accept(status("H38", "G17", "cũ", "03", when=at(-399 * 24 * 60)))
    await store.accept(new)
    outcome = await store.purge(at(-24 * 60), at(1))
    assert outcome.messages == 2
    assert outcome.audit_events == 3  # the old edoc, its status, the status on its trace
    assert await store.message(old.message_id) is None
    assert await store.payload(old.message_id) is None
    assert await store.deliveries(old.message_id) == ()
    assert await store.statuses(old.message_id) == ()
    assert await store.payload(new.message_id) == PAYLOAD
    kept = await _events(store)
    assert [e.kind for e in kept] == ["message.accepted", "purge"]
    assert kept[-1].data["open_deliveries"] == 2  # undelivered copies went, and it is on record
    verdict = await store.verify_audit()
    assert verdict.ok
    assert verdict.checked == 2
    await store.append_audit([draft("after.purge", at(2))])
    assert (await store.verify_audit()).ok


# --- durability ------------------------------------------------------------------------------


def test_a_reopened_store_keeps_everything_and_continues_the_chain(
    store_factory: StoreFactory,
) -> None:
    msg = edoc("H38")

    async def first(store: Store) -> None:
        await store.accept(msg)

    async def second(store: Store) -> None:
        info = await store.message(msg.message_id)
        assert info is not None
        assert info.subject == SUBJECT
        assert await store.payload(msg.message_id) == PAYLOAD
        again = await store.accept(dataclasses.replace(msg, message_id=new_message_id()))
        assert again.duplicate
        await store.append_audit([draft("after.reopen", at(1))])
        verdict = await store.verify_audit()
        assert verdict.ok
        assert verdict.checked == 2

    run_opened(store_factory(), first)
    run_opened(store_factory(), second)


# --- registry --------------------------------------------------------------------------------


@contract
async def test_registry_seeds_only_an_empty_store_and_reads_write_nothing(store: Store) -> None:
    assert await store.load_registry() is None
    assert await store.registry_version() is None
    assert await store.registry_records(["H63"]) == ([], [])
    assert (await store.verify_audit()).checked == 0  # the reads wrote no event
    seed = sample_registry()
    assert await store.seed_registry(seed) is True
    assert await store.seed_registry(seed) is False
    loaded = await store.load_registry()
    assert loaded is not None
    assert loaded.version == seed.version
    assert diff(loaded, seed).is_empty
    assert list(loaded.successions()) == list(seed.successions())
    assert await store.registry_version() == seed.version


@contract
async def test_registry_saves_versions_with_their_audit_events(store: Store) -> None:
    seed = sample_registry()
    await store.seed_registry(seed)
    record = seed.get("H38")
    assert record is not None
    renamed = Agency("H38", "Ủy ban nhân dân tỉnh Lào Cai", kind="people_committee")
    v2 = seed.apply(
        [Change("update", "H38", record, renamed)], author="người vận hành", reason="tên"
    )
    v3 = v2.apply([Change("add", "G40", None, Agency("G40", "Bộ mới"))], author="a", reason="b")
    assert await store.save_registry(v3) == 2
    assert await store.save_registry(v3) == 0
    loaded = await store.load_registry()
    assert loaded is not None
    assert loaded.version == v3.version
    h38 = loaded.get("H38")
    assert h38 is not None
    assert h38.name == "Ủy ban nhân dân tỉnh Lào Cai"
    history = await store.registry_history()
    assert [v.number for v in history][-3:] == [seed.version, v2.version, v3.version]
    assert history.get(v2.version).author == "người vận hành"
    events = await _events(store, kind="registry.version")
    assert [e.data["version"] for e in events][-2:] == [v2.version, v3.version]
    assert events[-2].data["author"] == "người vận hành"
    theirs = seed.apply([Change("add", "G41", None, Agency("G41", "b"))], author="b", reason="b")
    theirs = theirs.apply([Change("add", "G42", None, Agency("G42", "c"))], author="b", reason="b")
    with pytest.raises(StoreError) as diverged:
        await store.save_registry(theirs)
    assert diverged.value.code == "store.diverged"
    with pytest.raises(StoreError) as older:
        await store.save_registry(v2)
    assert older.value.code == "store.newer"
    assert await store.registry_version() == v3.version
    assert (await store.verify_audit()).ok


@contract
async def test_an_audited_save_writes_its_events_with_the_version_or_nothing(
    store: Store,
) -> None:
    seed = sample_registry()
    await store.seed_registry(seed)
    v2 = seed.apply([Change("add", "G40", None, Agency("G40", "Bộ mới"))], author="a", reason="b")
    admin = draft("registry.admin", at(1), system_id="ops", address="10.0.0.7", codes=("G40",))
    assert await store.save_registry_audited(v2, [admin]) == 1
    events = (await store.audit_events(AuditFilter(), limit=1000)).items
    assert [e.kind for e in events][-2:] == ["registry.version", "registry.admin"]
    assert (events[-1].address, events[-1].codes) == ("10.0.0.7", ("G40",))
    stale = seed.apply([Change("add", "G41", None, Agency("G41", "b"))], author="b", reason="b")
    with pytest.raises(StoreError) as refused:
        await store.save_registry_audited(stale, [admin])
    assert refused.value.code == "store.diverged"
    assert len((await store.audit_events(AuditFilter(), limit=1000)).items) == len(events)
    assert await store.registry_version() == v2.version
    assert (await store.verify_audit()).ok


@contract
async def test_wait_registry_change_wakes_on_save_and_times_out_otherwise(store: Store) -> None:
    seed = sample_registry()
    await store.seed_registry(seed)
    assert await store.wait_registry_change(seed.version, 0.05) is None
    assert await store.wait_registry_change(None, 0.05) == seed.version
    waiting = asyncio.create_task(store.wait_registry_change(seed.version, 30))
    await asyncio.sleep(0)
    v2 = seed.apply([Change("add", "G40", None, Agency("G40", "Bộ mới"))], author="a", reason="b")
    await store.save_registry(v2)
    assert await asyncio.wait_for(waiting, 10) == v2.version


@contract
async def test_registry_records_of_a_code_with_successions_from_and_to_it(store: Store) -> None:
    await store.seed_registry(sample_registry())
    agencies, successions = await store.registry_records(["H38"])
    assert [a.code for a in agencies] == ["H38"]
    assert sorted(s.from_code for s in successions) == ["A2", "H63"]
    agencies, successions = await store.registry_records(["TINH-15"])
    assert sorted(a.name for a in agencies) == ["Tỉnh Lào Cai", "Tỉnh Yên Bái"]
    assert [s.from_code for s in successions] == ["TINH-15"]
    agencies, successions = await store.registry_records(["H63", "KHÔNG"])
    assert [a.code for a in agencies] == ["H63"]
    assert [(s.from_code, s.successors[0].code) for s in successions] == [("H63", "H38")]


__all__ = sorted(name for name in globals() if name.startswith("test_"))

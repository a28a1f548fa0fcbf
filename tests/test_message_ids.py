"""Message ids drawn from a pool of OS randomness: unique, time-sortable, the documented form,
and never shared by a process and its fork."""

from __future__ import annotations

import datetime as dt
import os
import re

import pytest

from axis.store.records import MessageIds, new_message_id

FORM = re.compile(r"^[0-9a-f]{32}$")


def test_ids_are_unique_across_many_draws_and_sort_by_time() -> None:
    ids = MessageIds()
    start = dt.datetime(2026, 11, 30, 3, 0, tzinfo=dt.UTC)
    made = [ids.new(start + dt.timedelta(milliseconds=n // 7)) for n in range(5000)]
    assert len(set(made)) == 5000  # 12 pools of 400 drawn, none repeating
    assert all(FORM.match(message_id) for message_id in made)
    assert [m[:12] for m in made] == sorted(m[:12] for m in made)
    assert made[0][:12] == f"{int(start.timestamp() * 1000):012x}"
    assert FORM.match(new_message_id())


def test_a_forked_process_draws_its_own_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    ids = MessageIds()
    at = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
    ids.new(at)
    pool = ids._pool
    ids.new(at)
    assert ids._pool is pool  # the same process keeps drawing from its pool
    child = os.getpid() + 1
    monkeypatch.setattr(os, "getpid", lambda: child)
    ids.new(at)
    assert ids._pool != pool
    assert ids._pid == child

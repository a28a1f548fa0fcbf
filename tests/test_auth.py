"""Authentication: secrets at rest, Basic parsing, the KDF cache, revocation, the rate limit.

Also the shared helpers of the ``test_auth*`` files (a manual clock, the real SQLite store on a
temporary file, system records)."""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import datetime as dt
import hashlib
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest

from axis.auth import (
    Authenticator,
    Principal,
    generate_secret,
    hash_secret,
    parse_basic,
    verify_secret,
)
from axis.clock import Clock
from axis.errors import AuthError
from axis.store.protocol import Store
from axis.store.records import AuditDraft, Role, SystemRecord
from axis.store.sqlite import SqliteStore

T = TypeVar("T")

START = dt.datetime(2025, 7, 1, 0, 0, tzinfo=dt.UTC)
H38 = "000.00.00.H38"


class ManualClock(Clock):
    """A clock that moves only when the test says so."""

    def __init__(self, start: dt.datetime = START) -> None:
        super().__init__()
        self.moment = start

    def now(self) -> dt.datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += dt.timedelta(seconds=seconds)


@contextlib.asynccontextmanager
async def systems_store(directory: Path) -> AsyncIterator[Store]:
    """The real SQLite store on a file under ``directory``, opened and closed."""
    store = SqliteStore(directory / "axis.sqlite3")
    await store.open()
    try:
        yield store
    finally:
        await store.close()


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def basic(system_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{system_id}:{secret}".encode()).decode()


def record(
    system_id: str,
    *,
    secret: str | None = None,
    cert_sha256: str | None = None,
    role: Role = "agency",
    codes: tuple[str, ...] = (H38,),
    exact: bool = False,
    revoked: bool = False,
) -> SystemRecord:
    return SystemRecord(
        system_id=system_id,
        role=role,
        codes=codes,
        secret_hash=hash_secret(secret) if secret is not None else None,
        cert_sha256=cert_sha256,
        created_at=START,
        revoked_at=START if revoked else None,
        exact_codes=exact,
    )


def audit_of(system: SystemRecord) -> AuditDraft:
    return AuditDraft(kind="system.added", at=START, system_id=system.system_id)


class CountingVerifier:
    """The real KDF check, counted: proves which calls paid for scrypt."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, secret: str, hashed: str) -> bool:
        self.calls += 1
        return verify_secret(secret, hashed)


def authed(
    tmp_path: Path,
    body: Callable[[Store, Authenticator, ManualClock, CountingVerifier], Coroutine[Any, Any, T]],
    *,
    systems: tuple[SystemRecord, ...] = (),
    failures_per_minute: int = 20,
) -> T:
    """Run ``body`` with a store holding ``systems`` and an authenticator over it."""

    async def main() -> T:
        async with systems_store(tmp_path) as store:
            for system in systems:
                await store.put_system(system, audit_of(system))
            clock = ManualClock()
            verifier = CountingVerifier()
            auth = Authenticator(
                store, clock, failures_per_minute=failures_per_minute, verifier=verifier
            )
            return await body(store, auth, clock, verifier)

    return run(main())


async def refusal(call: Coroutine[Any, Any, Principal]) -> AuthError:
    with pytest.raises(AuthError) as caught:
        await call
    return caught.value


# --- secrets ------------------------------------------------------------------------------------


def test_a_hash_verifies_its_secret_and_nothing_else() -> None:
    secret = generate_secret()
    assert len(secret) == 43
    assert generate_secret() != secret
    hashed = hash_secret(secret)
    assert secret not in hashed
    assert hashed.startswith("scrypt$16384$8$1$")
    assert verify_secret(secret, hashed)
    assert not verify_secret(secret + "x", hashed)
    assert not verify_secret("", hashed)
    assert hash_secret(secret) != hashed  # a fresh salt each time


@pytest.mark.parametrize(
    "hashed",
    [
        "",
        "bcrypt$x",
        "scrypt$16384$8$1$!!$AAAA",
        "scrypt$15000$8$1$AAAA$AAAA",  # N not a power of two
        "scrypt$4194304$8$1$AAAA$AAAA",  # a cost past the memory bound
        "scrypt$16384$8$1$AAAA$",
    ],
)
def test_an_unreadable_hash_refuses_rather_than_fails(hashed: str) -> None:
    assert verify_secret("whatever-secret", hashed) is False


def test_a_generated_secret_can_follow_secret_on_a_command_line() -> None:
    # one token in 64 began with "-", which argparse takes for an option: unguarded, 3,000
    # secrets would all pass by chance about once in 10^20 runs
    made = [generate_secret() for _ in range(3000)]
    assert [secret for secret in made if secret.startswith("-")] == []
    assert {len(secret) for secret in made} == {43}
    parser = argparse.ArgumentParser()
    parser.add_argument("--secret")
    assert parser.parse_args(["--secret", made[0]]).secret == made[0]


# --- Basic parsing ------------------------------------------------------------------------------


def test_basic_parsing_keeps_colons_in_the_secret() -> None:
    assert parse_basic(basic("sys-1", "a:b:c")) == ("sys-1", "a:b:c")
    assert parse_basic("basic " + base64.b64encode(b"sys-1:s").decode()) == ("sys-1", "s")


@pytest.mark.parametrize(
    "header",
    [
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"no-colon-here").decode(),
        "Basic " + base64.b64encode(b"sys-1:\xff\xfe").decode(),  # not UTF-8
        "Basic " + base64.b64encode(b":secret").decode(),
        "Bearer abc.def",
        "Basic " + "A" * 5000,
    ],
)
def test_malformed_basic_headers(header: str) -> None:
    with pytest.raises(AuthError) as caught:
        parse_basic(header)
    assert caught.value.code == "auth.malformed"
    assert caught.value.status == 401


def test_malformed_and_missing_through_the_authenticator(tmp_path: Path) -> None:
    async def body(
        store: Store, auth: Authenticator, clock: ManualClock, kdf: CountingVerifier
    ) -> None:
        missing = await refusal(auth.authenticate_basic(None, "10.0.0.1"))
        assert (missing.code, missing.status, missing.extra) == ("auth.missing", 401, {})
        blank = await refusal(auth.authenticate_basic("  ", "10.0.0.1"))
        assert blank.code == "auth.missing"
        bad = await refusal(auth.authenticate_basic("Basic %%%", "10.0.0.1"))
        assert bad.code == "auth.malformed"
        assert "%%%" not in str(bad.to_dict())

    authed(tmp_path, body)


# --- bad credentials, the cache, revocation -----------------------------------------------------


def test_unknown_id_and_wrong_secret_look_the_same(tmp_path: Path) -> None:
    secret = generate_secret()

    async def body(
        store: Store, auth: Authenticator, clock: ManualClock, kdf: CountingVerifier
    ) -> None:
        unknown = await refusal(auth.authenticate_basic(basic("nobody", secret), "10.0.0.2"))
        wrong = await refusal(auth.authenticate_basic(basic("sys-1", "wrong-secret"), "10.0.0.2"))
        assert unknown.code == wrong.code == "auth.bad_credentials"
        assert unknown.to_dict() == wrong.to_dict()
        assert unknown.status == wrong.status == 401
        assert kdf.calls == 2  # the unknown id paid for a KDF too
        assert secret not in str(unknown.to_dict())

    authed(tmp_path, body, systems=(record("sys-1", secret=secret),))


def test_a_certificate_only_system_refuses_any_secret(tmp_path: Path) -> None:
    async def body(
        store: Store, auth: Authenticator, clock: ManualClock, kdf: CountingVerifier
    ) -> None:
        error = await refusal(auth.authenticate_basic(basic("sys-c", "anything-at-all"), "a"))
        assert error.code == "auth.bad_credentials"

    authed(tmp_path, body, systems=(record("sys-c", cert_sha256="ab" * 32),))


def test_the_cached_path_does_not_run_the_kdf_again(tmp_path: Path) -> None:
    secret = generate_secret()

    async def body(
        store: Store, auth: Authenticator, clock: ManualClock, kdf: CountingVerifier
    ) -> None:
        header = basic("sys-1", secret)
        first = await auth.authenticate_basic(header, "10.0.0.3")
        assert first == Principal("sys-1", "agency", (H38,), False)
        assert kdf.calls == 1
        for _ in range(50):
            assert await auth.authenticate_basic(header, "10.0.0.3") == first
        clock.advance(60)  # records expire, the proven secret does not
        assert await auth.authenticate_basic(header, "10.0.0.3") == first
        assert kdf.calls == 1
        wrong = await refusal(auth.authenticate_basic(basic("sys-1", secret + "x"), "10.0.0.3"))
        assert wrong.code == "auth.bad_credentials"
        assert kdf.calls == 2  # a different secret is never taken from the cache

    authed(tmp_path, body, systems=(record("sys-1", secret=secret),))


def test_a_rotated_secret_is_checked_again(tmp_path: Path) -> None:
    old, new = generate_secret(), generate_secret()

    async def body(
        store: Store, auth: Authenticator, clock: ManualClock, kdf: CountingVerifier
    ) -> None:
        await auth.authenticate_basic(basic("sys-1", old), "a")
        rotated = record("sys-1", secret=new)
        await store.put_system(rotated, audit_of(rotated))
        auth.invalidate("sys-1")
        error = await refusal(auth.authenticate_basic(basic("sys-1", old), "a"))
        assert error.code == "auth.bad_credentials"
        assert (await auth.authenticate_basic(basic("sys-1", new), "a")).system_id == "sys-1"

    authed(tmp_path, body, systems=(record("sys-1", secret=old),))


@pytest.mark.parametrize("how", ["invalidate", "ttl"])
def test_a_revoked_system_stops_even_when_cached(tmp_path: Path, how: str) -> None:
    secret = generate_secret()

    async def body(
        store: Store, auth: Authenticator, clock: ManualClock, kdf: CountingVerifier
    ) -> None:
        header = basic("sys-1", secret)
        await auth.authenticate_basic(header, "a")
        revoked = record("sys-1", secret=secret, revoked=True)
        await store.put_system(revoked, audit_of(revoked))
        if how == "invalidate":
            auth.invalidate("sys-1")
        else:
            # Within the TTL the cached record still answers; past it, the store does.
            assert (await auth.authenticate_basic(header, "a")).system_id == "sys-1"
            clock.advance(6)
        error = await refusal(auth.authenticate_basic(header, "a"))
        assert (error.code, error.status) == ("auth.revoked", 401)

    authed(tmp_path, body, systems=(record("sys-1", secret=secret),))


def test_a_revoked_system_with_a_wrong_secret_learns_nothing(tmp_path: Path) -> None:
    async def body(
        store: Store, auth: Authenticator, clock: ManualClock, kdf: CountingVerifier
    ) -> None:
        error = await refusal(auth.authenticate_basic(basic("sys-r", "not-the-secret"), "a"))
        assert error.code == "auth.bad_credentials"

    authed(tmp_path, body, systems=(record("sys-r", secret=generate_secret(), revoked=True),))


def test_certificate_binding_and_revocation(tmp_path: Path) -> None:
    der = b"not really DER, but only its hash matters here"
    fingerprint = hashlib.sha256(der).hexdigest()

    async def body(
        store: Store, auth: Authenticator, clock: ManualClock, kdf: CountingVerifier
    ) -> None:
        principal = await auth.authenticate_certificate(der, "a")
        assert principal.system_id == "sys-c"
        unknown = await refusal(auth.authenticate_certificate(b"another", "a"))
        assert unknown.code == "auth.bad_credentials"
        revoked = record("sys-c", cert_sha256=fingerprint, revoked=True)
        await store.put_system(revoked, audit_of(revoked))
        auth.invalidate("sys-c")
        gone = await refusal(auth.authenticate_certificate(der, "a"))
        assert gone.code in {"auth.bad_credentials", "auth.revoked"}
        assert kdf.calls == 0

    authed(tmp_path, body, systems=(record("sys-c", cert_sha256=fingerprint),))


# --- rate limit ---------------------------------------------------------------------------------


def test_failures_are_rate_limited_per_address(tmp_path: Path) -> None:
    secret = generate_secret()

    async def body(
        store: Store, auth: Authenticator, clock: ManualClock, kdf: CountingVerifier
    ) -> None:
        good, bad = basic("sys-1", secret), basic("sys-1", "wrong-secret")
        for _ in range(3):
            error = await refusal(auth.authenticate_basic(bad, "10.9.9.9"))
            assert error.code == "auth.bad_credentials"
            clock.advance(10)
        blocked = await refusal(auth.authenticate_basic(good, "10.9.9.9"))
        assert (blocked.code, blocked.status) == ("auth.rate_limited", 429)
        assert blocked.extra["retry_after"] == 30  # the first failure leaves the window at 60 s
        malformed = await refusal(auth.authenticate_basic("Basic ???", "10.9.9.9"))
        assert malformed.code == "auth.rate_limited"
        # Another address is not affected.
        assert (await auth.authenticate_basic(good, "10.1.1.1")).system_id == "sys-1"
        clock.advance(30)
        assert (await auth.authenticate_basic(good, "10.9.9.9")).system_id == "sys-1"
        # The 429 refusals did not count: one more failure is tolerated, then blocked again.
        await refusal(auth.authenticate_basic(bad, "10.9.9.9"))
        again = await refusal(auth.authenticate_basic(good, "10.9.9.9"))
        assert again.code == "auth.rate_limited"
        clock.advance(61)
        assert (await auth.authenticate_basic(good, "10.9.9.9")).system_id == "sys-1"

    authed(tmp_path, body, systems=(record("sys-1", secret=secret),), failures_per_minute=3)


def test_missing_credentials_are_not_counted_as_failures(tmp_path: Path) -> None:
    async def body(
        store: Store, auth: Authenticator, clock: ManualClock, kdf: CountingVerifier
    ) -> None:
        for _ in range(5):
            assert (await refusal(auth.authenticate_basic(None, "a"))).code == "auth.missing"

    authed(tmp_path, body, failures_per_minute=2)


# --- measure (printed, never asserted) ----------------------------------------------------------


def test_measure_first_and_cached_basic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    secret = generate_secret()

    async def body(
        store: Store, auth: Authenticator, clock: ManualClock, kdf: CountingVerifier
    ) -> tuple[float, float]:
        header = basic("sys-1", secret)
        start = time.perf_counter()
        await auth.authenticate_basic(header, "a")
        first = time.perf_counter() - start
        rounds = 2000
        start = time.perf_counter()
        for _ in range(rounds):
            await auth.authenticate_basic(header, "a")
        return first, (time.perf_counter() - start) / rounds

    first, cached = authed(tmp_path, body, systems=(record("sys-1", secret=secret),))
    with capsys.disabled():
        print(
            f"\nauthenticate_basic: first (KDF) {first * 1e3:.1f} ms, cached {cached * 1e6:.1f} µs"
        )

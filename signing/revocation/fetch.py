"""Where revocation data comes from: the fetcher protocol, and its HTTP implementation.

:class:`RevocationFetcher` is the ONLY door to the network, passed in by the caller: the library
never fetches on its own. :class:`HttpRevocationFetcher` is its aiohttp implementation (its name
says it does network I/O), with size/time limits and URL prefix rewriting for mirrors (old
certificates carry internal hosts such as ``http://ca.btc/`` that only a mirror can answer).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit

import aiohttp

from signing.errors import RevocationFetchError


@runtime_checkable
class RevocationFetcher(Protocol):
    """Gets raw revocation data; implementations raise :class:`RevocationFetchError`."""

    async def fetch_crl(self, url: str) -> bytes: ...

    async def fetch_ocsp(self, url: str, request_der: bytes) -> bytes: ...


class HttpRevocationFetcher:
    """Fetches CRLs (GET) and OCSP responses (POST) over HTTP with aiohttp -- network I/O.

    The ``session`` belongs to the caller (one ``aiohttp.ClientSession`` per application, so
    connections are pooled and closed once, by whoever opened it); this fetcher never opens or
    closes one. The session is bound to the event loop it was created on: every fetch must run on
    that loop (a :class:`signing.Verifier` that opens its own session does exactly that).
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        timeout: float = 5.0,
        max_bytes: int = 20 * 1024 * 1024,
        rewrite: Mapping[str, str] | None = None,
        user_agent: str = "axis-revocation/1",
    ) -> None:
        self.session = session
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.rewrite = dict(rewrite or {})
        self.user_agent = user_agent

    def resolve(self, url: str) -> str:
        """The URL after mirror rewriting (longest matching prefix wins)."""
        for prefix in sorted(self.rewrite, key=len, reverse=True):
            if url.startswith(prefix):
                return self.rewrite[prefix] + url[len(prefix) :]
        return url

    async def fetch_crl(self, url: str) -> bytes:
        """The CRL at ``url`` (after rewriting), DER or PEM as served."""
        return await self._request("GET", url, None, "application/pkix-crl")

    async def fetch_ocsp(self, url: str, request_der: bytes) -> bytes:
        """The responder's answer to one DER OCSP request."""
        return await self._request("POST", url, request_der, "application/ocsp-request")

    async def _request(self, method: str, url: str, body: bytes | None, ctype: str) -> bytes:
        target = self.resolve(url)
        if urlsplit(target).scheme not in {"http", "https"}:
            raise RevocationFetchError("revocation.bad_url", "only http(s) URLs are fetched", url)
        headers = {"User-Agent": self.user_agent}
        if body is not None:
            headers["Content-Type"] = ctype
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        try:
            async with self.session.request(
                method, target, data=body, headers=headers, timeout=timeout
            ) as resp:
                if resp.status != 200:
                    raise RevocationFetchError(
                        "revocation.http_status", f"HTTP {resp.status} from {target}", url
                    )
                data = bytearray()
                async for chunk in resp.content.iter_chunked(65536):
                    data += chunk
                    if len(data) > self.max_bytes:
                        raise RevocationFetchError(
                            "revocation.too_large", f"more than {self.max_bytes} bytes", url
                        )
                return bytes(data)
        except TimeoutError as exc:
            raise RevocationFetchError(
                "revocation.timeout", f"no answer in {self.timeout}s", url
            ) from exc
        except aiohttp.ClientError as exc:
            raise RevocationFetchError(
                "revocation.unreachable", str(exc) or type(exc).__name__, url
            ) from exc

"""What a benchmark sends: agencies with certificates and systems, and signed 20 KB letters."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from axis.auth.secrets import generate_secret, hash_secret
from axis.clock import VN_TZ
from axis.compose import agency_certificate, letter, signed, small_ca
from axis.config import AxisConfig
from axis.resources import ensure_registry, open_store
from axis.store.records import AuditDraft, SystemRecord
from edxml import Organization


@dataclass(frozen=True)
class Workload:
    """The agencies' codes, each one's ``system:secret``, the auditor's, and the documents
    (sender code, signed bytes) in sending order."""

    codes: tuple[str, ...]
    secrets: dict[str, str]
    auditor: str
    documents: tuple[tuple[str, bytes], ...]
    trust_dir: Path


def attachment() -> bytes:
    """A 13 KB PDF-shaped attachment that does not compress (random body): with the envelope
    and the signature the package is about 20 KB, the size the aims speak of."""
    body = os.urandom(13_000)
    # U+FFFD in UTF-8 would read as text damaged by a decoder (edxml's attachment.text_decoded)
    while b"\xef\xbf\xbd" in body:
        body = body.replace(b"\xef\xbf\xbd", os.urandom(3))
    return b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + body + b"\n%%EOF\n"


async def prepare(home: Path, agencies: int, documents: int, store: str | None) -> Workload:
    """Agencies (active province codes of the seed registry) with certificates of a fresh CA
    and systems in the store at ``home``, and ``documents`` letters signed by them."""
    _root, sub_ca, trust = small_ca(home / "ca")
    config = AxisConfig(home=home, trust_dir=trust, store=store or "")
    now = dt.datetime.now(dt.UTC)
    async with open_store(config) as opened:
        registry = await ensure_registry(opened)
        codes = sorted(
            a.code
            for a in registry.agencies()
            if a.code.startswith("000.00.00.H") and registry.resolve(a.code, now).status == "active"
        )[:agencies]
        secrets: dict[str, str] = {}
        keys: dict[str, tuple[rsa.RSAPrivateKey, x509.Certificate]] = {}
        for code in codes:
            system_id = f"sys-{code[-3:]}"
            secret = generate_secret()
            secrets[code] = f"{system_id}:{secret}"
            keys[code] = agency_certificate(
                sub_ca.cert, sub_ca.key, code, f"UBND {code}", not_before=now - dt.timedelta(days=1)
            )
            await opened.put_system(
                SystemRecord(system_id, "agency", (code,), hash_secret(secret), None, now),
                AuditDraft("system.added", now, system_id=system_id),
            )
        auditor = generate_secret()
        await opened.put_system(
            SystemRecord("bench-auditor", "auditor", (), hash_secret(auditor), None, now),
            AuditDraft("system.added", now, system_id="bench-auditor"),
        )
    day = now.astimezone(VN_TZ).date()
    docs: list[tuple[str, bytes]] = []
    for n in range(documents):
        sender, recipient = codes[n % len(codes)], codes[(n + 1) % len(codes)]
        package = letter(
            Organization(sender, organ_name=f"UBND {sender}"),
            [Organization(recipient, organ_name=f"UBND {recipient}")],
            number=str(n + 1),
            subject="Về việc báo cáo kết quả sắp xếp đơn vị hành chính",
            day=day,
            attachment=("bao-cao.pdf", attachment()),
        )
        key, cert = keys[sender]
        docs.append((sender, signed(package, key, [cert, sub_ca.cert])))
    return Workload(tuple(codes), secrets, f"bench-auditor:{auditor}", tuple(docs), trust)

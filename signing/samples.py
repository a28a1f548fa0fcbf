"""Small, deterministic edXML documents to sign, for tests, benchmarks and the CLI demo.

The shape is EDXML.md §1.8's skeleton (our own minimal form) with Vietnamese text in it, so every
signing path is exercised with non-ASCII content, and an ``AttachmentEncoded`` part outside the
envelope whose size is chosen by the caller (the benchmark's 20 KB and 1 MB documents).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence

from cryptography import x509
from lxml import etree

from edxml.names import EDXML_NS
from edxml.xmlsafe import parse_xml
from signing.sign import SigningKey, sign

_TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<edXML xmlns="{ns}">
  <edXML:edXMLEnvelope xmlns:edXML="{ns}">
    <edXML:edXMLHeader>
      <edXML:MessageHeader>
        <edXML:From><edXML:OrganId>{sender}</edXML:OrganId>
          <edXML:OrganName>Văn phòng UBND tỉnh Tây Ninh</edXML:OrganName>
          <edXML:OrganAdd>Số 83 Phạm Tung, Phường 3, Tây Ninh</edXML:OrganAdd></edXML:From>
        <edXML:To><edXML:OrganId>000.00.00.G22</edXML:OrganId>
          <edXML:OrganName>Văn phòng Chính phủ</edXML:OrganName></edXML:To>
        <edXML:DocumentId>{sender},2025/07/15,123/UBND-KT</edXML:DocumentId>
        <edXML:Code><edXML:CodeNumber>123</edXML:CodeNumber>
          <edXML:CodeNotation>UBND-KT</edXML:CodeNotation></edXML:Code>
        <edXML:PromulgationInfo><edXML:Place>Tây Ninh</edXML:Place>
          <edXML:PromulgationDate>2025/07/15</edXML:PromulgationDate></edXML:PromulgationInfo>
        <edXML:DocumentType><edXML:Type>1</edXML:Type><edXML:TypeName>Công văn</edXML:TypeName>
          </edXML:DocumentType>
        <edXML:Subject>Về việc triển khai trục liên thông văn bản quốc gia</edXML:Subject>
        <edXML:SignerInfo><edXML:Competence>KT. CHỦ TỊCH</edXML:Competence>
          <edXML:Position>Phó Chủ tịch</edXML:Position>
          <edXML:FullName>Nguyễn Văn Đức</edXML:FullName></edXML:SignerInfo>
        <edXML:OtherInfo><edXML:Priority>0</edXML:Priority>
          <edXML:PageAmount>2</edXML:PageAmount></edXML:OtherInfo>
        <edXML:SteeringType>1</edXML:SteeringType>
      </edXML:MessageHeader>
      <edXML:TraceHeaderList>
        <edXML:TraceHeader><edXML:OrganId>{sender}</edXML:OrganId>
          <edXML:Timestamp>2025/07/15 09:30:00</edXML:Timestamp></edXML:TraceHeader>
      </edXML:TraceHeaderList>
    </edXML:edXMLHeader>
    <edXML:edXMLBody>
      <edXML:edXMLManifest version="1.0">
        <edXML:Reference><edXML:ContentId>cid:att-1</edXML:ContentId>
          <edXML:ContentType>application/pdf</edXML:ContentType>
          <edXML:AttachmentName>công_văn_123.pdf</edXML:AttachmentName></edXML:Reference>
      </edXML:edXMLManifest>
    </edXML:edXMLBody>
  </edXML:edXMLEnvelope>
  <AttachmentEncoded>
    <Attachment><ContentId>att-1</ContentId><AttachmentName>công_văn_123.pdf</AttachmentName>
      <ContentType>application/pdf</ContentType>
      <ContentTransferEncoded>{payload}</ContentTransferEncoded></Attachment>
  </AttachmentEncoded>
</edXML>
"""


def attachment_bytes(size: int) -> bytes:
    """``size`` deterministic pseudo-random bytes (a stand-in for a PDF)."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(counter.to_bytes(8, "big")).digest()
        counter += 1
    return bytes(out[:size])


def sample_edxml(sender: str = "000.00.01.H53", attachment_size: int = 2048) -> bytes:
    """An unsigned edXML document from ``sender`` with one attachment of that many bytes."""
    payload = base64.encodebytes(attachment_bytes(attachment_size)).decode("ascii").strip()
    return _TEMPLATE.format(ns=EDXML_NS, sender=sender, payload=payload).encode("utf-8")


def sample_edxml_of_size(total_bytes: int, sender: str = "000.00.01.H53") -> bytes:
    """An unsigned edXML document of about ``total_bytes`` (the attachment takes the rest)."""
    base = len(sample_edxml(sender, 0))
    raw = max(0, (total_bytes - base - 3000) * 3 // 4)
    return sample_edxml(sender, raw)


def signed_edxml(
    key: SigningKey,
    chain: Sequence[x509.Certificate],
    *,
    sender: str = "000.00.01.H53",
    attachment_size: int = 2048,
    algorithm: str | None = None,
    digest: str = "sha256",
) -> bytes:
    """A sample edXML document from ``sender``, signed whole-document by ``key``."""
    tree = parse_xml(sample_edxml(sender, attachment_size))
    sign(tree, key, chain, algorithm=algorithm, digest=digest)
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")

"""edXML (QCVN 102:2016): the document and status packages the axis carries.

Public surface::

    parse(data) -> Document | Status        # tolerant of every real producer; raises EdxmlError
    build(package) -> bytes                  # VNPT's shape; parse(build(x)) == x
    validate(data) -> list[Problem]          # XSD (edxml/schemas/edxml.xsd) + rules
    check(data) -> CheckResult               # parse + validate in one pass (the intake's path)

Pure: no network, no disk, no globals but the compiled schema.
"""

from edxml.api import CheckResult, check, parse, validate
from edxml.attachments import UnwrappedFile, attachment_from_file, unwrap
from edxml.errors import CodedError, EdxmlError, Mode, Problem, Severity
from edxml.model import (
    Attachment,
    Business,
    BusinessDocType,
    BusinessDocumentInfo,
    Code,
    Document,
    DocumentType,
    ManifestReference,
    MessageHeader,
    Organization,
    OtherInfo,
    Package,
    Priority,
    PromulgationInfo,
    Receiver,
    ReplacementInfo,
    ResponseFor,
    SignaturePresence,
    SignerInfo,
    StaffInfo,
    Status,
    StatusCode,
    TraceHeader,
    TraceHeaderList,
)
from edxml.payload import Payload
from edxml.writer import build, build_to
from edxml.xmlsafe import XmlLimits

__all__ = [
    "Attachment",
    "Business",
    "BusinessDocType",
    "BusinessDocumentInfo",
    "CheckResult",
    "Code",
    "CodedError",
    "Document",
    "DocumentType",
    "EdxmlError",
    "ManifestReference",
    "MessageHeader",
    "Mode",
    "Organization",
    "OtherInfo",
    "Package",
    "Payload",
    "Priority",
    "Problem",
    "PromulgationInfo",
    "Receiver",
    "ReplacementInfo",
    "ResponseFor",
    "Severity",
    "SignaturePresence",
    "SignerInfo",
    "StaffInfo",
    "Status",
    "StatusCode",
    "TraceHeader",
    "TraceHeaderList",
    "UnwrappedFile",
    "XmlLimits",
    "attachment_from_file",
    "build",
    "build_to",
    "check",
    "parse",
    "unwrap",
    "validate",
]

"""parse(build(x)) == x for every model hypothesis can draw."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import edxml
from edxml import (
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
    Payload,
    Priority,
    PromulgationInfo,
    Receiver,
    ReplacementInfo,
    ResponseFor,
    SignerInfo,
    StaffInfo,
    Status,
    StatusCode,
    TraceHeader,
    TraceHeaderList,
)

# Text as producers write it: stripped, non-empty, any Unicode XML 1.0 can carry (Vietnamese too).
_XML_CHARS = st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff")
text = st.text(_XML_CHARS, min_size=1, max_size=30).map(str.strip).filter(bool)
maybe_text = st.none() | text
vietnamese = st.sampled_from(
    ["Ủy ban nhân dân", "Hòa Bình", "Đắk Lắk", "Thừa Thiên Huế", "Bộ Nội vụ"]
)
code = st.from_regex(r"\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}", fullmatch=True)
dates = st.dates(dt.date(2000, 1, 1), dt.date(2030, 12, 31))
timestamps = st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2030, 12, 31)).map(
    lambda t: t.replace(microsecond=0)
)
small_int = st.integers(0, 65535)

organizations = st.builds(
    Organization,
    organ_id=code,
    organization_in_charge=maybe_text,
    organ_name=st.none() | vietnamese | text,
    organ_add=maybe_text,
    email=maybe_text,
    telephone=maybe_text,
    fax=maybe_text,
    website=maybe_text,
)
response_fors = st.builds(
    ResponseFor,
    organ_id=st.none() | code,
    code=maybe_text,
    promulgation_date=st.none() | dates,
    document_id=maybe_text,
)
staff = st.builds(
    StaffInfo,
    department=maybe_text,
    department_id=maybe_text,
    staff=maybe_text,
    staff_id=maybe_text,
    email=maybe_text,
    mobile=maybe_text,
)
payloads = st.binary(max_size=300).map(Payload.from_bytes)


@st.composite
def documents(draw: st.DrawFn) -> Document:
    ids = draw(st.lists(st.uuids().map(str), max_size=3, unique=True))
    attachments = tuple(
        Attachment(
            i, draw(maybe_text), draw(maybe_text), draw(maybe_text), draw(st.none() | payloads)
        )
        for i in ids
    )
    manifest = tuple(
        ManifestReference(a.content_id, a.content_type, draw(maybe_text), a.name)
        for a in attachments
    )
    business = draw(
        st.none()
        | st.builds(
            Business,
            doc_type=st.sampled_from(BusinessDocType),
            reason=maybe_text,
            document_id=maybe_text,
            paper=st.none() | st.integers(0, 1),
            document_info=st.none()
            | st.builds(
                BusinessDocumentInfo,
                document_info=maybe_text,
                document_receiver=maybe_text,
                receivers=st.lists(
                    st.builds(Receiver, organ_id=code, receiver_type=st.none() | st.integers(0, 1)),
                    max_size=2,
                ).map(tuple),
            ),
            replacements=st.lists(
                st.builds(
                    ReplacementInfo,
                    document_id=maybe_text,
                    organ_ids=st.lists(code, max_size=2).map(tuple),
                ),
                max_size=2,
            ).map(tuple),
            staff_info=st.none() | staff,
        )
    )
    header = MessageHeader(
        from_=draw(organizations),
        to=tuple(draw(st.lists(organizations, min_size=1, max_size=3))),
        document_id=draw(maybe_text),
        code=draw(st.none() | st.builds(Code, number=maybe_text, notation=maybe_text)),
        promulgation_info=draw(
            st.none() | st.builds(PromulgationInfo, place=maybe_text, date=st.none() | dates)
        ),
        document_type=draw(
            st.none()
            | st.builds(
                DocumentType,
                type=st.none() | small_int,
                type_detail=st.none() | small_int,
                type_name=maybe_text,
            )
        ),
        subject=draw(st.none() | vietnamese | text),
        content=draw(maybe_text),
        signer_info=draw(
            st.none()
            | st.builds(
                SignerInfo, competence=maybe_text, position=maybe_text, full_name=maybe_text
            )
        ),
        due_date=draw(st.none() | dates),
        to_places=tuple(draw(st.lists(text, max_size=2))),
        other_info=draw(
            st.none()
            | st.builds(
                OtherInfo,
                priority=st.none() | st.sampled_from(Priority),
                sphere_of_promulgation=maybe_text,
                typer_notation=maybe_text,
                promulgation_amount=st.none() | small_int,
                page_amount=st.none() | small_int,
                direction=st.none() | st.booleans(),
                appendixes=st.lists(text, max_size=2).map(tuple),
            )
        ),
        response_for=tuple(draw(st.lists(response_fors, max_size=2))),
        steering_type=draw(st.none() | st.integers(0, 3)),
        response_for_task=tuple(draw(st.lists(text, max_size=2))),
        application_type=draw(maybe_text),
    )
    trace = draw(
        st.none()
        | st.builds(
            TraceHeaderList,
            traces=st.lists(
                st.builds(TraceHeader, organ_id=st.none() | code, timestamp=st.none() | timestamps),
                max_size=3,
            ).map(tuple),
            business=st.just(business),
        )
    )
    return Document(header=header, trace=trace, manifest=manifest, attachments=attachments)


statuses = st.builds(
    Status,
    from_=organizations,
    response_for=response_fors,
    status_code=st.sampled_from(StatusCode),
    staff_info=st.none() | staff,
    description=maybe_text,
    timestamp=st.none() | timestamps,
)

_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(documents())
def test_document_round_trips(document: Document) -> None:
    assert edxml.parse(edxml.build(document)) == document


@_SETTINGS
@given(statuses)
def test_status_round_trips(status: Status) -> None:
    assert edxml.parse(edxml.build(status)) == status

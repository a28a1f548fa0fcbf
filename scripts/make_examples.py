"""Write the project's own example packages into ``examples/`` (run once; the files are committed).

The examples are authored here, field by field, in the model: a new document with two attachments
(a PDF and a text file that travels zipped under VNPT's convention), a revoke, an update and a
replace of it, and one status package for every status code. Content ids are fixed so the files
read well; the ZIP entry name is fixed too, so re-running the script gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

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

OUT = Path(__file__).resolve().parent.parent / "examples"

SENDER = Organization(
    organ_id="000.00.01.H53",
    organization_in_charge="UBND tỉnh Tây Ninh",
    organ_name="Văn phòng UBND tỉnh Tây Ninh",
    organ_add="Số 83, đường Phạm Tung, phường Tân Ninh, tỉnh Tây Ninh",
    email="vanphong@tayninh.gov.vn",
    telephone="0276 3822 130",
    website="https://tayninh.gov.vn",
)
VPCP = Organization(
    organ_id="000.00.00.G22",
    organ_name="Văn phòng Chính phủ",
    organ_add="Số 1 Hoàng Hoa Thám, Ba Đình, Hà Nội",
)
NOI_VU = Organization(
    organ_id="000.00.00.G09", organ_name="Bộ Nội vụ", organ_add="Số 8 Tôn Thất Thuyết, Hà Nội"
)
DATE = dt.date(2025, 7, 15)
DOCUMENT_ID = "000.00.01.H53,2025/07/15,123/UBND-KT"

# A minimal, well-formed one-page PDF (hand-written; xref offsets are computed below).
_PDF_OBJECTS = [
    b"<< /Type /Catalog /Pages 2 0 R >>",
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
    b"<< /Length 44 >>\nstream\nBT /F1 12 Tf 72 770 Td (Cong van 123) Tj ET\nendstream",
]


def _pdf() -> bytes:
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(_PDF_OBJECTS, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(_PDF_OBJECTS) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(offsets) + 1, xref)
    )
    return out.getvalue()


def _zipped(entry: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo(entry, date_time=(2025, 7, 15, 9, 30, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, data)
    return buffer.getvalue()


def _header(*, subject: str, document_id: str, number: str) -> MessageHeader:
    return MessageHeader(
        from_=SENDER,
        to=(VPCP, NOI_VU),
        document_id=document_id,
        code=Code(number, "UBND-KT"),
        promulgation_info=PromulgationInfo("Tây Ninh", DATE),
        document_type=DocumentType(1, 0, "Công văn"),
        subject=subject,
        content="Báo cáo tình hình sắp xếp đơn vị hành chính cấp xã sau ngày 01/7/2025.",
        signer_info=SignerInfo("KT. CHỦ TỊCH", "Phó Chủ tịch", "Nguyễn Văn Hòa"),
        due_date=dt.date(2025, 7, 30),
        to_places=("Như trên", "Lưu: VT, KT"),
        other_info=OtherInfo(
            priority=Priority.URGENT,
            sphere_of_promulgation="Lưu hành nội bộ",
            typer_notation="KT",
            promulgation_amount=5,
            page_amount=2,
            appendixes=("Phụ lục I: Danh sách xã, phường",),
        ),
        steering_type=1,
    )


def _trace(business: Business) -> TraceHeaderList:
    return TraceHeaderList(
        traces=(TraceHeader("000.00.01.H53", dt.datetime(2025, 7, 15, 9, 30, 0)),),
        business=business,
    )


def _new_document() -> Document:
    pdf = _pdf()
    note = "Danh sách cán bộ đầu mối: Trần Thị Thu Hà, 0276 3822 131\n".encode()
    attachments = (
        Attachment(
            "att-1",
            "123-UBND-KT.pdf",
            "application/pdf",
            "Công văn (bản ký số)",
            Payload.from_bytes(pdf),
        ),
        Attachment(
            "att-2",
            "dau-moi.txt",
            "application/zip",
            "Danh sách đầu mối (tệp văn bản, nén theo quy ước)",
            Payload.from_bytes(_zipped("5f0c7f8e-0b1e-4c56-9d2a-7a1b2c3d4e5f.txt", note)),
        ),
    )
    return Document(
        header=_header(
            subject="Về việc báo cáo kết quả sắp xếp đơn vị hành chính",
            document_id=DOCUMENT_ID,
            number="123",
        ),
        trace=_trace(Business(BusinessDocType.NEW, "Văn bản điện tử mới", paper=0)),
        manifest=tuple(
            ManifestReference(a.content_id, a.content_type, a.description, a.name)
            for a in attachments
        ),
        attachments=attachments,
    )


def _follow_up(kind: BusinessDocType, number: str, business: Business) -> Document:
    document_id = f"000.00.01.H53,2025/07/15,{number}/UBND-KT"
    return Document(
        header=_header(
            subject=f"Về việc {business.reason or ''} Công văn số 123/UBND-KT",
            document_id=document_id,
            number=number,
        ),
        trace=_trace(business),
    )


def _status(code: StatusCode, description: str) -> Status:
    return Status(
        from_=VPCP,
        response_for=ResponseFor("000.00.01.H53", "123/UBND-KT", DATE, DOCUMENT_ID),
        status_code=code,
        staff_info=StaffInfo(
            department="Phòng Văn thư - Lưu trữ",
            staff="Lê Thị Hoà",
            email="vanthu@chinhphu.vn",
            mobile="0912000001",
        ),
        description=description,
        timestamp=dt.datetime(2025, 7, 15, 10, 2, 11),
    )


STATUS_TEXT = {
    StatusCode.ARRIVED: ("inbox", "Đã đến - Phần mềm QLVB đã nhận nhưng văn thư chưa xử lý"),
    StatusCode.REJECTED: ("rejection", "Từ chối tiếp nhận: gửi nhầm đơn vị"),
    StatusCode.ACCEPTED: ("acceptance", "Đã tiếp nhận, vào sổ văn bản đến"),
    StatusCode.ASSIGNED: ("assignment", "Lãnh đạo: Phân công xử lý"),
    StatusCode.PROCESSING: ("processing", "Đang xử lý văn bản đến"),
    StatusCode.FINISHED: ("finish", "Văn thư: Ban hành văn bản đến, hoàn thành xử lý"),
    StatusCode.TAKEN_BACK: ("cancellation", "Lấy lại văn bản đã gửi"),
    StatusCode.CHANGE_ACCEPTED: ("change-acceptance", "Đồng ý thu hồi / cập nhật"),
    StatusCode.CHANGE_REJECTED: (
        "change-rejection",
        "Từ chối thu hồi / cập nhật: văn bản đã ban hành",
    ),
}


def main() -> None:
    OUT.mkdir(exist_ok=True)
    files: dict[str, edxml.Package] = {
        "edoc_new_two-attachments.edxml": _new_document(),
        "edoc_revoke.edxml": _follow_up(
            BusinessDocType.REVOKE,
            "124",
            Business(BusinessDocType.REVOKE, "thu hồi", DOCUMENT_ID, paper=0),
        ),
        "edoc_update.edxml": _follow_up(
            BusinessDocType.UPDATE,
            "125",
            Business(
                BusinessDocType.UPDATE,
                "cập nhật nơi nhận",
                DOCUMENT_ID,
                paper=0,
                document_info=BusinessDocumentInfo(
                    "0", "1", (Receiver("000.00.00.G09", 0), Receiver("000.00.00.G12", 1))
                ),
            ),
        ),
        "edoc_replace.edxml": _follow_up(
            BusinessDocType.REPLACE,
            "126",
            Business(
                BusinessDocType.REPLACE,
                "thay thế",
                paper=0,
                replacements=(ReplacementInfo(DOCUMENT_ID, ("000.00.00.G22", "000.00.00.G09")),),
            ),
        ),
    }
    for code, (name, text) in STATUS_TEXT.items():
        files[f"status_{code.value}_{name}.edxml"] = _status(code, text)
    for name, package in files.items():
        data = edxml.build(package)
        problems = edxml.validate(data, mode=edxml.Mode.STRICT)
        if problems:
            raise SystemExit(f"{name}: {problems}")
        (OUT / name).write_bytes(data)
        print(f"wrote examples/{name} ({len(data)} bytes)")


if __name__ == "__main__":
    main()

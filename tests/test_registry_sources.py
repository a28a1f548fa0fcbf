"""Readers of official lists: our own format, the VDXP unit list, the statistics office's crosswalk.

The crosswalk tests read the real files of ../shared/data (both the normalised copy and the sheet
as stored, with its flaws) and prove that both give the same rows.
"""

from __future__ import annotations

import gzip
import json
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import pytest

from registry.codes import AgencyCode, AgencyCodeError
from registry.model import CUTOVER_2025, Agency, Succession, SuccessionKind, Successor
from registry.sources import SourceError, detect, native, nso_crosswalk, read, read_text, vdxp
from registry.sources.adminkeys import commune_key, district_key, is_admin_key, province_key
from registry.sources.instants import InstantError, parse_instant
from registry.sources.names import clean_name
from tests.conftest import shared_path

# --- names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Xã Định Hoá", "Xã Định Hóa"),
        ("Xã Điềm Thuỵ", "Xã Điềm Thụy"),
        ("Phường Nguyễn Uý", "Phường Nguyễn Úy"),
        ("Xa Ea Kly", "Xã Ea Kly"),
        ("Thị Xã Sa Pa", "Thị xã Sa Pa"),
        ("Thị trấn  Kẻ Sặt", "Thị trấn Kẻ Sặt"),
        ("Đặc khu Côn Đảo\n", "Đặc khu Côn Đảo"),
        ("Phường B’Lao", "Phường B'Lao"),
        ("Xã Quý Lộc", "Xã Quý Lộc"),  # "qu" is a consonant: the tone stays on y
        ("Xã Hoàng Hoa", "Xã Hoàng Hoa"),  # oa + final consonant: nothing to move
        ("Huyện Quỳnh Lưu", "Huyện Quỳnh Lưu"),
        (unicodedata.normalize("NFD", "Tỉnh Hòa Bình"), "Tỉnh Hòa Bình"),
    ],
)
def test_clean_name_gives_one_spelling(raw: str, clean: str) -> None:
    assert clean_name(raw) == clean
    assert unicodedata.is_normalized("NFC", clean_name(raw))


# --- administrative-unit keys ---------------------------------------------------------------


def test_unit_keys_restore_lost_zeros_and_never_parse_as_agency_codes() -> None:
    assert commune_key("4") == "XA-00004"
    assert district_key("1") == "HUYEN-001"
    assert province_key("15") == "TINH-15"
    for key in ("XA-00004", "HUYEN-001", "TINH-15"):
        assert is_admin_key(key)
        with pytest.raises(AgencyCodeError):
            AgencyCode.parse(key)
    assert not is_admin_key("000.00.00.H38")
    with pytest.raises(ValueError, match="at most 5 digits"):
        commune_key("123456")


# --- instants -------------------------------------------------------------------------------


def test_instants_read_as_vietnamese_dates_and_refuse_naive_iso() -> None:
    assert parse_instant("2025-07-01") == CUTOVER_2025
    assert parse_instant("2025-07-01T00:00:00+07:00") == CUTOVER_2025
    assert parse_instant("01/07/2025 00:00:00") == CUTOVER_2025
    assert parse_instant("1751302800000") == CUTOVER_2025
    with pytest.raises(InstantError) as info:
        parse_instant("2025-07-01T00:00:00")
    assert info.value.code == "time.naive"
    assert parse_instant("2025-07-01T00:00:00", naive_is_local=True) == CUTOVER_2025


# --- the official crosswalk -----------------------------------------------------------------


def _official(name: str) -> str:
    return shared_path("adminunits", "official", name).read_text(encoding="utf-8")


def test_sheet_as_stored_reads_to_the_same_rows_as_the_normalised_copy() -> None:
    normalised, n_issues = nso_crosswalk.parse_rows(_official("old_communes_to_new_nso.csv"))
    sheet, s_issues = nso_crosswalk.parse_rows(_official("nso_crosswalk_sheet_raw.csv"))
    assert len(normalised) == len(sheet) == 10571
    assert not [i for i in n_issues + s_issues if i.severity == "error"]

    def fields(row: nso_crosswalk.CrosswalkRow) -> tuple[str, ...]:
        return (
            row.old_code,
            row.old_name,
            row.old_district_code,
            row.old_district_name,
            row.old_province_code,
            row.old_province_name,
            row.new_code,
            row.new_name,
            row.new_province_code,
            row.merge_kind,
            row.note,
        )

    assert [fields(r) for r in sheet] == [fields(r) for r in normalised]
    # the sheet's lost leading zeros are each reported with their line
    zeros = [i for i in s_issues if i.code == "cell.leading_zero"]
    assert len(zeros) == 342
    assert zeros[0].line is not None
    assert zeros[0].severity == "warning"


def test_crosswalk_batch_states_every_old_and_new_unit() -> None:
    batch = read(shared_path("adminunits", "official", "old_communes_to_new_nso.csv"))
    assert batch.format == "nso_crosswalk"
    by_prefix: dict[str, int] = {}
    for agency in batch.agencies:
        prefix = agency.code.split("-")[0] + ("-old" if agency.valid_until else "-new")
        by_prefix[prefix] = by_prefix.get(prefix, 0) + 1
    assert by_prefix == {"TINH-old": 63, "HUYEN-old": 696, "XA-old": 10033, "XA-new": 3321}
    splits = [
        s for s in batch.successions if s.from_code.startswith("XA-") and len(s.successors) > 1
    ]
    assert len(splits) == 441
    assert all(not x.primary for s in splits for x in s.successors)
    # the office's own flaws are reported, not hidden
    codes = {i.code for i in batch.warnings}
    assert {"row.code_two_names", "row.province_name_mismatch"} <= codes


_SHEET_HEAD = (
    "Đơn vị hành chính từ ngày 01/7/2025,,,Đơn vị hành chính trước ngày 01/7/2025,,,,\n"
    '"Tỉnh, thành phố",Tên Xã mới,Mã Xã mới,Tên Xã cũ,Mã Xã cũ,Ghi chú,Quận/huyện,Tỉnh cũ\n'
    "GIA LAI,,,,,,,\n"
)


def test_sheet_known_corrections_are_applied_and_reported() -> None:
    text = _SHEET_HEAD + (
        "Tỉnh Gia Lai (52),Xã Ia Mơ,23737,Xã Ia Mơ,23737,Giữ nguyên,"
        "Huyện Chư Prông (632),Tỉnh Gia Lai (64)\n"
        "Tỉnh Quảng Ninh (22),Xã Ba Chẽ,6978,Thị trấn Ba Chẽ,06978,Nhập toàn bộ,"
        "Huyện Ba Chẽ (202),Tỉnh Quảng Ninh (22)\n"
    )
    rows, issues = nso_crosswalk.parse_rows(text)
    assert [(r.old_code, r.new_code) for r in rows] == [("23938", "23938"), ("06970", "06970")]
    corrected = [i for i in issues if i.code == "row.corrected"]
    assert [i.line for i in corrected] == [4, 4, 5, 5]


def test_sheet_rows_with_bad_cells_are_errors_with_their_line() -> None:
    text = _SHEET_HEAD + (
        "Tỉnh Gia Lai (52),Xã A,12a45,Xã B,23938,Nhập toàn bộ,Huyện C (632),Tỉnh Gia Lai (64)\n"
        "Tỉnh Gia Lai (52),Xã A,23938,Xã B,23941,Chưa rõ,Huyện C (632),Tỉnh Gia Lai (64)\n"
        "Tỉnh Gia Lai,Xã A,23938,Xã B,23944,Nhập toàn bộ,Huyện C (632),Tỉnh Gia Lai (64)\n"
        "Tỉnh Gia Lai (52),Xã A,23938,Xã B,23947,Nhập toàn bộ,Huyện C (632),Tỉnh Gia Lai (64)\n"
    )
    batch = read_text(text, "sheet.csv")
    assert [(i.code, i.line, i.field) for i in batch.errors] == [
        ("row.bad_code", 4, "new_commune_code"),
        ("row.unknown_note", 5, "note"),
        ("row.bad_cell", 6, "new_province"),
    ]
    assert batch.rows == 1


@pytest.mark.parametrize(
    ("note", "kind"),
    [
        ("Nhập toàn bộ", "full"),
        ("Nhập một  phần", "partial"),
        ("Nhâp một phần diện tích", "partial"),
        ("Phần còn lại sau khi tách một phần vào xã Canh Vinh", "partial"),
        ("Giữ nguyên ", "unchanged"),
        ("Đổi tên", "renamed_or_retyped"),
        ("Sắp xếp toàn bộ huyện Côn Đảo thành đặc khu Côn Đảo", "district_to_special_zone"),
        ("Ghi chú lạ", None),
    ],
)
def test_office_notes_state_the_merge_kind(note: str, kind: str | None) -> None:
    assert nso_crosswalk.classify_note(note) == kind


# --- our own format -------------------------------------------------------------------------


def test_native_csv_reads_agencies_closes_and_successions() -> None:
    text = (
        "op,code,name,parent,valid_from,valid_until,successors,effective,legal_basis,email\n"
        f",000.00.01.H38,{unicodedata.normalize('NFD', 'Văn phòng UBND tỉnh Lào Cai')},"
        "000.00.00.H38,,,,,,vp@laocai.gov.vn\n"
        "close,000.00.00.G24,,,,2025-04-14,,,,\n"
        "succession,000.00.00.H63,,,,,000.00.00.H38:merged:primary,2025-07-01,QĐ 09/2025,\n"
        "agency,000.00.00.h38,Bad,,,,,,,\n"
        "agency,000.00.02.H38,Sở X,,2025-07-01T00:00:00,,,,,\n"
        "succession,000.00.00.H22,,,,,000.00.00.H60:married,2025-07-01,,\n"
    )
    batch = read_text(text, "list.csv")
    assert batch.format == "native"
    assert batch.agencies == (
        Agency(
            "000.00.01.H38",
            "Văn phòng UBND tỉnh Lào Cai",
            parent="000.00.00.H38",
            contact={"email": "vp@laocai.gov.vn"},
        ),
    )
    assert batch.closes == (("000.00.00.G24", datetime(2025, 4, 13, 17, tzinfo=UTC)),)
    assert batch.successions == (
        Succession(
            "000.00.00.H63",
            (Successor("000.00.00.H38", SuccessionKind.MERGED, True),),
            CUTOVER_2025,
            "QĐ 09/2025",
        ),
    )
    assert [(i.code, i.line, i.field) for i in batch.errors] == [
        ("row.bad_code", 5, "code"),
        ("time.naive", 6, "valid_from"),
        ("row.bad_successor", 7, "successors"),
    ]


def test_native_json_round_trips_the_model() -> None:
    agencies = [
        Agency(
            "000.00.00.H38",
            "Ủy ban nhân dân tỉnh Lào Cai",
            kind="people_committee",
            valid_from=CUTOVER_2025,
            inferred=True,
        ),
        Agency(
            "XA-00004",
            "Phường Ba Đình",
            kind="admin_unit",
            parent="TINH-01",
            admin_unit="00004",
            valid_from=CUTOVER_2025,
        ),
    ]
    successions = [
        Succession(
            "000.00.00.H63",
            (Successor("000.00.00.H38", SuccessionKind.MERGED),),
            CUTOVER_2025,
            "QĐ 09/2025/QĐ-TTg",
        )
    ]
    batch = read_text(native.dumps(agencies, successions), "export.json")
    assert batch.format == "native"
    assert list(batch.agencies) == agencies
    assert list(batch.successions) == successions
    assert not batch.issues


# --- the VDXP unit list ---------------------------------------------------------------------


def test_vdxp_unit_list_maps_ids_to_parent_codes_and_deletions_to_closes() -> None:
    response = {
        "status": "OK",
        "ErrorCode": "0",
        "ErrorDesc": "",
        "data": [
            {
                "id": "a" * 24,
                "pid": "",
                "code": "000.00.00.H38",
                "name": "UBND tỉnh Lào Cai",
                "mail": "ubnd@laocai.gov.vn",
                "version": 3,
                "centerCode": "H38",
                "deleted": False,
                "modifyDate": "01/07/2025 00:00:00",
                "isAgency": True,
            },
            {
                "id": "b" * 24,
                "pid": "a" * 24,
                "code": "000.00.01.H38",
                "name": "Văn phòng UBND tỉnh",
                "mail": "",
                "deleted": False,
                "isAgency": True,
            },
            {
                "id": "c" * 24,
                "pid": "",
                "code": "000.00.00.H63",
                "name": "UBND tỉnh Yên Bái",
                "mail": "",
                "deleted": True,
                "modifyDate": "01/07/2025 00:00:00",
            },
            {"id": "d" * 24, "pid": "", "code": "bad code", "name": "x", "mail": ""},
        ],
    }
    text = json.dumps(response, ensure_ascii=False)
    assert detect(text) == "vdxp"
    batch = read_text(text, "getSynchronizeUnit.json")
    assert [(a.code, a.parent) for a in batch.agencies] == [
        ("000.00.00.H38", None),
        ("000.00.01.H38", "000.00.00.H38"),
    ]
    assert batch.agencies[0].contact == {"email": "ubnd@laocai.gov.vn"}
    assert batch.agencies[0].delivery == {"center": "H38"}
    assert batch.closes == (("000.00.00.H63", CUTOVER_2025),)
    assert [(i.code, i.line) for i in batch.errors] == [("row.bad_code", 4)]


def test_vdxp_error_envelope_is_an_error() -> None:
    text = json.dumps(
        {
            "status": "FAIL",
            "ErrorCode": "9",
            "ErrorDesc": "denied",
            "data": [{"id": "1", "pid": "", "code": "G01", "name": "x", "mail": ""}],
        }
    )
    batch = vdxp.read_json(json.loads(text), "x")
    assert batch.errors[0].code == "file.vdxp_error"


# --- files ----------------------------------------------------------------------------------


def test_read_takes_gzip_and_refuses_what_it_cannot_read(tmp_path: Path) -> None:
    packed = tmp_path / "list.csv.gz"
    packed.write_bytes(gzip.compress("code,name\n000.00.00.G01,Bộ Công an\n".encode()))
    batch = read(packed)
    assert batch.agencies[0].name == "Bộ Công an"
    bad = tmp_path / "latin1.csv"
    bad.write_bytes("code,name\nG01,B\xf4\n".encode("latin-1"))
    with pytest.raises(SourceError) as info:
        read(bad)
    assert info.value.code == "source.not_utf8"
    with pytest.raises(SourceError) as missing:
        read(tmp_path / "absent.csv")
    assert missing.value.code == "source.unreadable"
    with pytest.raises(SourceError) as fmt:
        read(packed, format="xml")
    assert fmt.value.code == "source.unknown_format"


def test_progress_is_reported_to_the_end() -> None:
    seen: list[tuple[int, int]] = []
    read(
        shared_path("adminunits", "official", "nso_crosswalk_sheet_raw.csv"),
        progress=lambda done, total: seen.append((done, total)),
    )
    assert len(seen) > 2
    assert seen[-1][0] == seen[-1][1]


def test_sheet_extra_cells_and_repeated_rows_are_warnings() -> None:
    row = "Tỉnh Gia Lai (52),Xã A,23938,Xã B,23941,Nhập toàn bộ,Huyện C (632),Tỉnh Gia Lai (64)"
    batch = read_text(_SHEET_HEAD + row + ",note\n" + row + "\n", "sheet.csv")
    assert [(i.code, i.line) for i in batch.warnings] == [
        ("row.extra_cells", 4),
        ("row.duplicate", 5),
    ]
    assert len(batch.successions) == 3  # province, district, commune: the repeat adds nothing

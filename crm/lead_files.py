"""Lead spreadsheets: the columns we know (English and Chinese headers), and reading CSV or XLSX as a stream.

Nothing here touches the database: it turns an uploaded file into (row number, {field: text}) pairs, or says
in words why it cannot.
"""

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

XLSX_MAGIC = b"PK\x03\x04"
# A workbook is a zip of XML: judged by its directory before anything is inflated. Excel writes a dozen
# members compressed 5-20 times; a zip bomb declares gigabytes at ratios of hundreds or thousands.
XLSX_MAX_MEMBERS = 500
XLSX_MAX_UNCOMPRESSED = 512 * 1024 * 1024
XLSX_MAX_RATIO = 200
CSV_MAX_CELL = csv.field_size_limit()  # 131,072 characters: far beyond any lead's cell
# Characters of Chinese text (CJK punctuation to unified ideographs, full-width forms): UTF-8 spells each with
# three bytes, which GBK text practically never forms by chance (no line in 300,000 generated ones did).
CHINESE = re.compile("[\u3000-\u9fff\uff00-\uffef]")


class LeadFileError(ValueError):
    """The file as a whole cannot be read; the message says why, for the person who uploaded it."""


NOT_DECODABLE = _(
    "The file could not be read as text in UTF-8, GBK or GB18030 (byte %(offset)d is not valid in any of them). "
    "Save it from your spreadsheet as “CSV UTF-8” or as an Excel .xlsx workbook."
)
NOT_TEXT = _("This is not a CSV or Excel file (it contains binary data). Upload a .csv or .xlsx file.")
BAD_XLSX = _("The Excel file is damaged or not an .xlsx workbook: %(error)s")
EMPTY_FILE = _("The file is empty.")
NO_HEADER = _("The first row must name the columns; it is empty.")
NO_PHONE_COLUMN = _("The file has no phone column (电话). Every lead needs a phone number.")
DUPLICATE_COLUMN = _("The column “%(column)s” appears twice.")
UNREADABLE = _("This file can't be read: %(reason)s. Nothing was imported.")
CELL_TOO_LONG = _("row %(row)d has a cell longer than %(limit)s characters")
UNSAFE_XML = _("the workbook declares XML entities, which spreadsheets never write")
XLSX_TOO_LARGE = _("the workbook unpacks to more than %(limit)d MB")
XLSX_COMPRESSED = _("a part of the workbook is compressed %(ratio)d times (a zip bomb, not a spreadsheet)")
XLSX_TOO_MANY_PARTS = _("the workbook has more than %(limit)d parts")
BROKEN_ROW = _("row %(row)d is damaged (%(error)s)")
MIXED_ENCODINGS = _(
    "The file mixes text encodings: line %(utf8)d is UTF-8 but line %(other)d is not, so names would come out "
    "garbled. Save the whole file again from your spreadsheet as “CSV UTF-8” (or as an Excel .xlsx workbook)."
)


@dataclass(frozen=True)
class Column:
    field: str
    english: str
    chinese: str
    aliases: tuple[str, ...] = ()
    example: str = ""


# The one list of import columns: headers of the template and what the importer accepts, which includes the export's
# headers (the model's verbose names in English and Chinese, crm.resources) so an export imports again.
COLUMNS = [
    Column("name", "name", "姓名", ("客户姓名", "名字", "full name"), "Wang Fang"),
    Column("phone", "phone", "电话", ("手机", "手机号", "电话号码", "mobile", "phone number", "tel"), "138 0013 8000"),
    Column("qq", "QQ", "QQ", ("qq号", "qq number"), "10001"),
    Column("wechat", "wechat", "微信", ("微信号", "weixin"), "wangfang_wx"),
    Column("email", "email", "邮箱", ("电子邮件", "e-mail", "mail"), "wang.fang@example.com"),
    Column("source", "source", "来源", ("客户来源", "渠道"), "website"),
    Column(
        "courses",
        "courses",
        "咨询课程",
        ("课程", "意向课程", "courses of interest", "consult courses", "course"),
        "Python Full Stack",
    ),
    Column("branch", "campus", "校区", ("分校", "校区名称", "branch"), "Beijing Haidian"),
    Column("tags", "tags", "标签", ("tag",), "hot lead"),
    Column("consultant", "consultant", "顾问", ("课程顾问", "销售", "owner"), ""),
    Column("content", "content", "备注", ("咨询内容", "notes", "note", "inquiry"), "Asked about evening classes"),
]
FIELDS = [c.field for c in COLUMNS]

# How people write a lead's source in spreadsheets, besides our own codes and labels.
SOURCE_ALIASES = {
    "referral": ("转介绍", "介绍", "推荐", "老带新"),
    "qq_group": ("QQ群", "qq group", "qq"),
    "website": ("网站", "官网", "web", "site"),
    "search_ads": ("搜索广告", "百度推广", "竞价", "sem", "search"),
    "social_media": ("社交媒体", "微博", "抖音", "小红书", "微信公众号", "social"),
    "walk_in": ("到访", "上门", "walk in", "walkin"),
    "other": ("其他", "其它"),
}
_HEADER_TO_FIELD = {
    key.casefold(): column.field
    for column in COLUMNS
    for key in (column.field, column.english, column.chinese, *column.aliases)
}


def field_for_header(header: str) -> str | None:
    return _HEADER_TO_FIELD.get(header.strip().lstrip("\ufeff").casefold())


def template_csv() -> bytes:
    """The template users download: bilingual headers and one example row, UTF-8 with BOM for Excel."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([f"{c.chinese}/{c.english}" if c.chinese != c.english else c.english for c in COLUMNS])
    writer.writerow([c.example for c in COLUMNS])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


LIST_SEPARATORS = re.compile(r"[,，;；、/|]")


def split_list(text: str) -> list[str]:
    """Course and tag cells list several names, separated the way people type them."""
    return [part for part in (p.strip() for p in LIST_SEPARATORS.split(text)) if part]


@dataclass
class LeadFile:
    """An opened lead file: its columns, and its data rows as a stream."""

    format: str
    encoding: str
    fields: dict[int, str]  # column index -> field
    unknown_columns: list[str]
    _rows: Iterator[list]

    def rows(self) -> Iterator[tuple[int, tuple[str, ...]]]:
        """(row number as the spreadsheet shows it, the cells in FIELDS order, "" where absent); blank rows skipped.

        Rows are parsed as they are read, so a file damaged halfway raises LeadFileError here, mid-stream: the
        caller's transaction then keeps nothing of it.
        """
        positions = [next((i for i, f in self.fields.items() if f == field), None) for field in FIELDS]
        width = max(self.fields) + 1
        number = 1
        rows = iter(self._rows)
        while True:
            number += 1
            try:
                cells = next(rows)
            except StopIteration:
                return
            except Exception as error:  # whatever the parser met: the user is told which row, nothing crashes
                raise LeadFileError(UNREADABLE % {"reason": _row_problem(error, number)}) from None
            if len(cells) < width:
                cells = [*cells, *[None] * (width - len(cells))]
            values = tuple("" if i is None else _cell_text(cells[i]) for i in positions)
            if any(values):
                yield number, values


def _row_problem(error: Exception, number: int) -> str:
    if isinstance(error, csv.Error) and "field limit" in str(error):
        return CELL_TOO_LONG % {"row": number, "limit": f"{CSV_MAX_CELL:,}"}
    if _is_unsafe_xml(error):
        return str(UNSAFE_XML)
    return BROKEN_ROW % {"row": number, "error": error}


def _is_unsafe_xml(error: BaseException | None) -> bool:
    """defusedxml refused the XML, maybe under openpyxl's own "could not read worksheets" error."""
    from defusedxml import DefusedXmlException

    while error is not None:
        if isinstance(error, DefusedXmlException):
            return True
        error = error.__cause__ or error.__context__
    return False


def _cell_text(value) -> str:
    if value.__class__ is str:
        text = value.strip()
    elif value is None:
        return ""
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))  # phones and QQ numbers typed into Excel come back as floats
    else:
        text = str(value).strip()
    if text[:1] == "'" and text[1:2] in ("=", "+", "-", "@"):
        text = text[1:]  # undo our export's escaping of formula-like cells, so an export re-imports
    return text


def open_lead_file(stream) -> LeadFile:
    """Open a CSV (UTF-8, UTF-8 with BOM, GBK/GB18030) or XLSX lead file, judged by its content."""
    head = stream.read(4)
    stream.seek(0)
    if not head:
        raise LeadFileError(EMPTY_FILE)
    if head == XLSX_MAGIC:
        return _open_xlsx(stream)
    return _open_csv(stream)


def estimate_rows(stream) -> int:
    """About how many data rows the file has, without parsing them: what decides whether the worker reads it and
    how far its progress bar goes. Lines of a CSV (a quoted cell over several lines counts more than once); a
    workbook's declared dimension (cells are counted if it declares none). A workbook that cannot be opened is
    estimated empty: the preview, in the request, then says what is wrong with it."""
    stream.seek(0)
    if stream.read(4) == XLSX_MAGIC:
        rows = _workbook_rows(stream)
    else:
        stream.seek(0)
        rows, last = 0, b""
        while chunk := stream.read(1 << 20):
            rows += chunk.count(b"\n")
            last = chunk
        rows += bool(last) and not last.endswith(b"\n")  # the last line, unterminated
    stream.seek(0)
    return max(0, rows - 1)  # less the header


def _workbook_rows(stream) -> int:
    from openpyxl import load_workbook

    try:
        _judge_archive(stream)
        sheet = load_workbook(stream, read_only=True, data_only=True).worksheets[0]
        return sheet.max_row if sheet.max_row is not None else sum(1 for _row in sheet.iter_rows(values_only=True))
    except Exception:  # damaged, hostile or not a workbook: open_lead_file names the problem
        return 0


def _detect_encoding(stream) -> str:
    """UTF-8 (with or without BOM) first, then GB18030 (a superset of GBK); decoded incrementally."""
    for encoding in ("utf-8-sig", "gb18030"):
        stream.seek(0)
        decoder = codecs.getincrementaldecoder(encoding)()
        offset = 0
        try:
            while chunk := stream.read(1 << 16):
                if b"\x00" in chunk:
                    raise LeadFileError(NOT_TEXT)
                decoder.decode(chunk)
                offset += len(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as error:
            failed_at = offset + error.start
            continue
        stream.seek(0)
        if encoding != "utf-8-sig":
            _refuse_mixed_encodings(stream)
        return encoding
    raise LeadFileError(NOT_DECODABLE % {"offset": failed_at})


def _refuse_mixed_encodings(stream) -> None:
    """A file that is not UTF-8 as a whole but has lines of Chinese in UTF-8 was pasted together from two
    sources: read as GBK, its UTF-8 names would turn into other characters (王芳 into 鐜嬭姵) without an error."""
    utf8_line = other_line = None
    for number, line in enumerate(stream, start=1):
        if line.isascii():
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            other_line = other_line or number
        else:
            if CHINESE.search(text):
                utf8_line = utf8_line or number
        if utf8_line and other_line:
            raise LeadFileError(MIXED_ENCODINGS % {"utf8": utf8_line, "other": other_line})
    stream.seek(0)


def _open_csv(stream) -> LeadFile:
    encoding = _detect_encoding(stream)
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    sample = text.read(8192)
    text.seek(0)
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(text, dialect)
    try:
        header = next(reader, None)
    except csv.Error as error:  # the header row over-long or damaged: said as rows() says it of later rows
        raise LeadFileError(UNREADABLE % {"reason": _row_problem(error, 1)}) from None
    return _lead_file("csv", encoding, header, reader)


def _open_xlsx(stream) -> LeadFile:
    from openpyxl import load_workbook  # parses XML with defusedxml when it is installed (it is: requirements)

    _judge_archive(stream)
    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
        rows = workbook.worksheets[0].iter_rows(values_only=True)
        header = next(rows, None)
    except Exception as error:  # a damaged or hostile workbook, whatever part of it the parser met first
        if _is_unsafe_xml(error):
            raise LeadFileError(UNREADABLE % {"reason": UNSAFE_XML}) from None
        raise LeadFileError(BAD_XLSX % {"error": error}) from None
    return _lead_file("xlsx", "", [_cell_text(h) for h in header] if header else None, rows)


def _judge_archive(stream) -> None:
    """Refuse a zip bomb from the archive's directory, before inflating a byte. zipfile stops inflating a
    member at the size the directory declares, so the declared sizes are the ones that count."""
    try:
        members = zipfile.ZipFile(stream).infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise LeadFileError(BAD_XLSX % {"error": error}) from None
    finally:
        stream.seek(0)
    if len(members) > XLSX_MAX_MEMBERS:
        raise LeadFileError(UNREADABLE % {"reason": XLSX_TOO_MANY_PARTS % {"limit": XLSX_MAX_MEMBERS}})
    if sum(m.file_size for m in members) > XLSX_MAX_UNCOMPRESSED:
        raise LeadFileError(UNREADABLE % {"reason": XLSX_TOO_LARGE % {"limit": XLSX_MAX_UNCOMPRESSED // 2**20}})
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > 2**20 and ratio > XLSX_MAX_RATIO:
            raise LeadFileError(UNREADABLE % {"reason": XLSX_COMPRESSED % {"ratio": ratio}})


def _lead_file(format: str, encoding: str, header, rows) -> LeadFile:
    if not header or not any(h.strip() for h in header):
        raise LeadFileError(NO_HEADER)
    fields, unknown = {}, []
    for index, title in enumerate(header):
        if not title.strip():
            continue
        field = (
            field_for_header(title) or field_for_header(title.split("/")[-1]) or field_for_header(title.split("/")[0])
        )
        if field is None:
            unknown.append(title.strip())
        elif field in fields.values():
            raise LeadFileError(DUPLICATE_COLUMN % {"column": title.strip()})
        else:
            fields[index] = field
    if "phone" not in fields.values():
        raise LeadFileError(NO_PHONE_COLUMN)
    return LeadFile(format=format, encoding=encoding, fields=fields, unknown_columns=unknown, _rows=rows)

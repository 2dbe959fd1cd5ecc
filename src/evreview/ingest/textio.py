"""Turning an export's bytes into text, or a clear error.

Exports arrive as UTF-8 with or without a byte-order mark, UTF-16 (Web of Science
tab-delimited on Windows), with CRLF, LF or bare CR line ends, and occasionally in a legacy
code page. We decode strictly: a wrong guess would silently corrupt titles, so a file that is
not valid in the expected encoding is an error naming the line, and the user names the
encoding (``--encoding`` or ``ingest.encodings`` in config).
"""

from __future__ import annotations

import codecs
from pathlib import Path

from evreview.errors import IngestError

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def is_container(data: bytes) -> bool:
    """True for binary containers a reader may still understand (XLSX/ZIP, legacy XLS).

    Such a file is not decoded as text: the table readers read its first sheet from the bytes
    (``_tabular.load_table``: openpyxl for an .xlsx, xlrd for an OLE2 .xls).
    """
    return data.startswith(_ZIP_MAGIC) or data.startswith(_OLE_MAGIC)


#: A zip (an .xlsx workbook) may expand to at most this many bytes, as a text export may be
#: (``evreview.ingest.MAX_FILE_BYTES``) ...
MAX_EXPANDED_BYTES = 2 * 1024**3
#: ... and, beyond :data:`_RATIO_FLOOR` bytes, to at most this many times its compressed size:
#: a workbook's sheets compress 5-30 times, a zip bomb a thousand times and more.
MAX_EXPANSION_RATIO = 100
_RATIO_FLOOR = 64 * 1024**2


def check_container(data: bytes, path: str | Path) -> None:
    """Refuse a zip whose members would expand beyond what any export holds (a zip bomb).

    Found by fuzzing: a 1.5 MB workbook whose sheet expands to 1.5 GB of cells was read cell by
    cell until the job's time ran out (its memory would have followed). The sizes are the
    ones the zip declares, which are also all Python's zipfile will read of a member. A damaged
    zip is left to the readers, which name it.
    """
    if not data.startswith(_ZIP_MAGIC):
        return
    import io
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, EOFError, ValueError, OSError):
        return
    expanded = sum(member.file_size for member in members)
    if expanded > MAX_EXPANDED_BYTES or (
        expanded > _RATIO_FLOOR and expanded > MAX_EXPANSION_RATIO * max(len(data), 1)
    ):
        biggest = max(members, key=lambda member: member.file_size)
        raise IngestError(
            f"refusing to read this zip file: its {len(data) / 1024**2:.1f} MB would expand to "
            f"{expanded / 1024**2:,.0f} MB ({biggest.filename!r} alone {biggest.file_size / 1024**2:,.0f} MB), "
            "far more than any export holds (a zip bomb, or a damaged file); save the sheet as CSV",
            path=path,
        )


def _guess_bomless_utf16(data: bytes) -> str | None:
    sample = data[:4096]
    if len(sample) < 4:
        return None
    even_nuls = sample[0::2].count(0)
    odd_nuls = sample[1::2].count(0)
    half = len(sample) // 2
    if odd_nuls > 0.4 * half and even_nuls < 0.05 * half:
        return "utf-16-le"
    if even_nuls > 0.4 * half and odd_nuls < 0.05 * half:
        return "utf-16-be"
    return None


#: NUL bytes a text export may carry (a damaged download) and still be called text, not binary
_STRAY_NULS = 8


def _stray_nuls(head: bytes) -> bool:
    """True when the NUL bytes in ``head`` are a few strays in UTF-8 text, not a binary file.

    Such an export is damaged at a place the user can fix: :func:`decode_part` then names the
    NUL's line, where "binary file: this is not a text export" would send them to export again.
    """
    if head.count(0) > _STRAY_NULS:
        return False
    try:
        head[: head.rfind(b"\n") + 1 or len(head)].decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def pick_encoding(data: bytes, path: str | Path, encoding: str | None = None) -> str:
    """The encoding :func:`decode` uses for ``data``: ``encoding`` when given, else from a BOM
    or the UTF-16 shape of the first bytes, else UTF-8.

    Looks only at the first 64 KiB (so the parallel driver can ask before reading the rest);
    raises for a binary file (NUL bytes there without a UTF-16 shape).
    """
    if encoding is not None:
        return encoding
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith(codecs.BOM_UTF32_LE) or data.startswith(codecs.BOM_UTF32_BE):
        return "utf-32"
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        return "utf-16"
    encoding = _guess_bomless_utf16(data) or "utf-8"
    if encoding == "utf-8" and b"\x00" in data[:65536] and not _stray_nuls(data[:65536]):
        raise IngestError(
            "binary file: this is not a text export (it contains NUL bytes); "
            "export the records as RIS, CSV, BibTeX, MEDLINE or XML",
            path=path,
        )
    return encoding


def decode(data: bytes, path: str | Path, encoding: str | None = None) -> str:
    """Decode an export to text with ``\\n`` line ends and no byte-order mark.

    Raises :class:`IngestError` for an empty or binary file, or bytes invalid in the encoding
    (naming the line and the byte).
    """
    if not data.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise IngestError("file is empty (no records to ingest)", path=path)
    return decode_part(data, path, pick_encoding(data, path, encoding))


def decode_part(
    data: bytes, path: str | Path, encoding: str, *, offset: int = 0, line: int = 1, byte_line: int | None = None
) -> str:
    """:func:`decode` of ``data`` in a known ``encoding``, as a part of a file starting at byte
    ``offset`` and line ``line``: errors name the file's offset and line, not the part's.
    An invalid byte's line counts ``\\n`` bytes only, from ``byte_line`` (default ``line``),
    as :func:`decode` always has.

    A part must start at a line start (so ``\\r\\n`` is never split) in an encoding where
    ``\\n`` is one byte (UTF-8); the parallel driver cuts files only there.
    """
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        # the utf-8-sig codec counts its positions after the byte-order mark it skipped: the
        # offset and the bytes shown were 3 bytes early
        skipped = len(exc.object) != len(data) and data.startswith(codecs.BOM_UTF8)
        start = exc.start + (len(codecs.BOM_UTF8) if skipped else 0)
        bad = data[start : start + 4]
        where = (line if byte_line is None else byte_line) + data.count(b"\n", 0, start)
        if exc.reason in ("unexpected end of data", "truncated data") and exc.end == len(exc.object):
            # a download cut short inside a character: the file is incomplete, whatever its
            # encoding, and naming another encoding would send the user the wrong way
            raise IngestError(
                f"the file ends inside a character (byte {bad!r} at offset {offset + start}): it was cut "
                "short; download or export it again",
                path=path,
                line=where,
            ) from None
        raise IngestError(
            f"not valid {encoding} text (byte {bad!r} at offset {offset + start}); "
            "if the file uses another encoding, say which with --encoding "
            "(e.g. cp1252, latin-1) or ingest.encodings in config",
            path=path,
            line=where,
        ) from None
    except LookupError:
        raise IngestError(f"unknown encoding {encoding!r}", path=path) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\n\ufeff" in text:
        # exports joined into one file (``cat a.ris b.ris``, ``copy a+b``) keep the second
        # file's byte-order mark at a line start, where it would hide that line's tag or
        # header (``\ufeffTY  -`` starts no record); a BOM is never content there
        text = text.replace("\n\ufeff", "\n")
    if "\x00" in text:
        at = line + text.count("\n", 0, text.index("\x00"))
        raise IngestError("binary content (NUL character) inside a text file", path=path, line=at)
    return text

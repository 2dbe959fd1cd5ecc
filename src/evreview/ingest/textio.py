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
    """True for binary containers a reader may still understand (XLSX/ZIP, legacy XLS)."""
    return data.startswith(_ZIP_MAGIC) or data.startswith(_OLE_MAGIC)


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


def decode(data: bytes, path: str | Path, encoding: str | None = None) -> str:
    """Decode an export to text with ``\\n`` line ends and no byte-order mark.

    Raises :class:`IngestError` for an empty or binary file, or bytes invalid in the encoding
    (naming the line and the byte).
    """
    if not data.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise IngestError("file is empty (no records to ingest)", path=path)
    if encoding is None:
        if data.startswith(codecs.BOM_UTF8):
            encoding = "utf-8-sig"
        elif data.startswith(codecs.BOM_UTF32_LE) or data.startswith(codecs.BOM_UTF32_BE):
            encoding = "utf-32"
        elif data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
            encoding = "utf-16"
        else:
            encoding = _guess_bomless_utf16(data) or "utf-8"
            if encoding == "utf-8" and b"\x00" in data[:65536]:
                raise IngestError(
                    "binary file: this is not a text export (it contains NUL bytes); "
                    "export the records as RIS, CSV, BibTeX, MEDLINE or XML",
                    path=path,
                )
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        bad = data[exc.start : exc.start + 4]
        raise IngestError(
            f"not valid {encoding} text (byte {bad!r} at offset {exc.start}); "
            "if the file uses another encoding, say which with --encoding "
            "(e.g. cp1252, latin-1) or ingest.encodings in config",
            path=path,
            line=line,
        ) from None
    except LookupError:
        raise IngestError(f"unknown encoding {encoding!r}", path=path) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise IngestError("binary content (NUL character) inside a text file", path=path, line=line)
    return text

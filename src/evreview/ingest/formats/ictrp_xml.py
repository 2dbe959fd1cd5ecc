"""WHO ICTRP search portal's "Export results to XML" (``<Trials_downloaded_from_ICTRP><Trial>...``).

The WHO International Clinical Trials Registry Platform searches the world's trial registers at
once. Each ``<Trial>`` is a flat list of text elements (``TrialID``, ``Public_title``,
``Scientific_title``, ``Source_Register``, ``Date_registration3`` as ``YYYYMMDD``,
``web_address``, ``Condition``, ``Intervention``, ...), every text padded with line breaks. Read
safely with defusedxml (:func:`.endnote_xml.parse_record_elements`: no DTD, entity or external
reference; after a break each later trial is read on its own, so a stray ``&`` costs one trial).

Mapping:
- The database is ``WHO ICTRP``, the register searched, which PRISMA counts among the registers;
  the register a trial came from (``Source_Register``) stays in ``raw``.
- The trial's registration number is its id (an NCT number for a ClinicalTrials.gov trial).
- The title is the scientific one, which a publication of the trial echoes, else the public one.
- The year is the year of registration.
- Conditions and interventions (``;``-separated, or ``<br>`` between them) are keywords.
"""

from __future__ import annotations

import re
import xml.sax.handler
from dataclasses import dataclass, field
from typing import Any

from evreview.ingest.formats._trials import without_intervention_type
from evreview.ingest.formats.endnote_xml import parse_record_elements
from evreview.ingest.registry import ParsedRecord, ParseResult, Source, register

DATABASE = "WHO ICTRP"
_RECORD_START = re.compile(r"<Trial[\s>]")
_ITEM_BREAK = re.compile(r";|<br\s*/?>", re.IGNORECASE)


@dataclass
class _Trial:
    """One ``<Trial>``: its start line and its elements' texts (whitespace collapsed)."""

    line: int
    fields: dict[str, str] = field(default_factory=dict)


class _Handler(xml.sax.handler.ContentHandler):
    """The ``<Trial>`` records of the export."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[_Trial] = []
        self.current: _Trial | None = None
        self.field: str | None = None
        self.text: list[str] = []
        self.locator: Any = None

    def setDocumentLocator(self, locator: Any) -> None:
        self.locator = locator

    def startElement(self, name: str, attrs: Any) -> None:
        if name == "Trial" and self.current is None:
            self.current = _Trial(int(self.locator.getLineNumber()) if self.locator is not None else 0)
        elif self.current is not None and self.field is None:
            self.field, self.text = name, []
        elif self.field is not None and name.lower() == "br":  # a literal <br/> between two items
            self.text.append(";")

    def characters(self, content: str) -> None:
        if self.field is not None:
            self.text.append(content)

    def endElement(self, name: str) -> None:
        if self.current is None:
            return
        if name == self.field:
            text = " ".join("".join(self.text).split())
            if text:
                self.current.fields[name] = text
            self.field = None
        elif name == "Trial":
            self.records.append(self.current)
            self.current = None


def _items(*values: str) -> list[str]:
    """``;`` / ``<br>``-separated items, an intervention's type ("Drug: ") dropped."""
    out = []
    for value in values:
        for item in _ITEM_BREAK.split(value):
            text = without_intervention_type(item)
            if text and text not in out:
                out.append(text)
    return out


def record_fields(trial: dict[str, str]) -> dict[str, Any]:
    """Record fields of one trial."""
    registered = trial.get("Date_registration3", "")
    return {
        "source_id": trial.get("TrialID", ""),
        "source_database": DATABASE,
        "title": trial.get("Scientific_title") or trial.get("Public_title", ""),
        "year": registered[:4] if registered[:4].isdigit() else trial.get("Date_registration", ""),
        "keywords": _items(trial.get("Condition", ""), trial.get("Intervention", "")),
        "doc_type": "trial registration",
        "url": trial.get("web_address", ""),
    }


@register
class IctrpXmlReader:
    """WHO ICTRP's XML export of trials."""

    name = "ictrp_xml"
    priority = 60

    def sniff(self, source: Source) -> float:
        """An XML file whose root is ``<Trials_downloaded_from_ICTRP>``."""
        head = source.head.lstrip("\ufeff \t\r\n")
        return 0.95 if head.startswith("<") and "<Trials_downloaded_from_ICTRP" in head[:4000] else 0.0

    def parse(self, source: Source) -> ParseResult:
        path = source.options.get("display_path", source.path)
        return parse_record_elements(
            source.text or "", _Handler(), lambda r: ParsedRecord(record_fields(r.fields), dict(r.fields), r.line),
            _RECORD_START, path=path, kind="WHO ICTRP XML", record_end="</Trial>", new_handler=_Handler,
        )

"""Record ids that several readers find in the same place, found by one pattern each.

A reader that finds an id its own way, next to another reader finding the same id in another
format, gave one record two source ids depending on the export it came from; each pattern
here is shared so that cannot drift.
"""

from __future__ import annotations

import re

#: The EID in a Scopus record link (``https://www.scopus.com/inward/record.uri?eid=2-s2.0-850...&doi=...``).
#: Scopus writes the EID as a column only in its CSV (the Scopus CSV reader's ``source_id``);
#: its BibTeX and RIS exports carry it only in this link.
SCOPUS_EID_IN_URL = re.compile(r"scopus\.com/.*?[?&]eid=(2-s2\.0-\d+)")


def scopus_eid(url: str) -> str:
    """The Scopus EID in a record link, or ``""`` when ``url`` is no Scopus record link."""
    match = SCOPUS_EID_IN_URL.search(url) if "scopus.com/" in url else None
    return match.group(1) if match else ""


#: EBSCOhost's record link (``...login.aspx?direct=true&db=aph&AN=176404503&site=ehost-live``):
#: its accession number, which EBSCOhost's CSV has as a column, its RIS only inside ``N1`` and
#: its BibTeX as the entry key.
EBSCO_AN_IN_URL = re.compile(r"ebscohost\.com/.*?[?&]AN=([^&\s]+)", re.IGNORECASE)


def ebsco_accession(url: str) -> str:
    """The accession number in an EBSCOhost record link, or ``""``."""
    match = EBSCO_AN_IN_URL.search(url) if "ebscohost" in url else None
    return match.group(1) if match else ""

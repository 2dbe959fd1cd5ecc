"""What trial registers write alike in every format: one definition, so the readers cannot drift.

ClinicalTrials.gov (its CSV) and the WHO ICTRP portal (its XML and tables) both write each
intervention after its type ("BEHAVIORAL: Community coaching", "Drug: Metformin"); the type is
the register's category, not a word of the intervention, and is dropped from the keywords.
"""

from __future__ import annotations

import re

#: An intervention's type as ClinicalTrials.gov (current site: ``DIETARY_SUPPLEMENT``; classic:
#: ``Dietary Supplement``) and ICTRP write it, with its colon.
_INTERVENTION_TYPE = re.compile(
    r"^\s*(?:drug|device|biological|procedure|radiation|behaviou?ral|genetic|dietary[ _]supplement"
    r"|combination[ _]product|diagnostic[ _]test|other)\s*:\s*",
    re.IGNORECASE,
)


def without_intervention_type(item: str) -> str:
    """``item`` without a leading intervention type ("Drug: Metformin" -> "Metformin"), stripped."""
    return _INTERVENTION_TYPE.sub("", item).strip()

"""Screening: eligibility rules, reviewers' decisions, and a prioritised worklist.

Order of authority (DESIGN.md): eligibility rules first (reason-coded automatic exclusions),
then reviewers' decisions (always win over the machine), then a scikit-learn ranker over
what is still undecided, with a statistical stopping estimate. Heavy imports (scikit-learn,
scipy, matplotlib) stay inside the modules that need them.
"""

from __future__ import annotations

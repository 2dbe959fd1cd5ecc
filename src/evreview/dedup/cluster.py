"""Clustering "same" pairs into studies, with a guard against chaining.

Plain connected components chain: A~B and B~C merge A and C even when A and C have
different DOIs. Here clusters grow by union-find, strongest evidence first, and a union is
refused when the merged cluster would hold two different DOIs or PMIDs, years more than one
apart, different start pages or volumes, or two records that a reviewer (or a hard rule)
said are different. Every refused union is reported, so the audit shows it.

Reviewers' "same" decisions are applied first and bypass the field guard (a reviewer may
know that a preprint and its article are one study), but never a reviewer's "different".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evreview.dedup.compare import OVERLAP

#: Rules whose decision is a hard contradiction: such records never share a cluster. All say
#: "different" but three "maybe"s for a reviewer that still keep the two apart (only a reviewer's
#: "same" joins them): different DOIs for the same title and authors, one DOI on two items
#: (other title numbers or other authors: a supplement's DOI on each of its abstracts), and
#: titles that differ only in who or where the study is about ("in men" / "in women", "in Kenya" /
#: "in Ghana").
HARD_RULES = frozenset(
    {"doi_conflict", "pmid_conflict", "notice_vs_item", "title_numbers_differ", "year_conflict",
     "pages_conflict", "volume_conflict", "issue_conflict", "doi_conflict_same_title_authors",
     "doi_shared_other_item", "title_population_differs"}
)
#: The hard rules that say "maybe": questions put to a reviewer. A reviewer's "same" on such a
#: pair answers that question for its two records: their other cannot-links of the same rule are
#: lifted, so the records' own duplicates follow them (a = "... in men", b = "... in women", c = b
#: again: after "a same b", the a / c link of the same question no longer splits c off b).
DEFERRED_RULES = frozenset({"doi_conflict_same_title_authors", "doi_shared_other_item", "title_population_differs"})
#: Rules that match on an identifier: the page/volume/year guard does not apply to them.
ID_RULES = frozenset({"doi_match", "pmid_match", "registration_match"})
#: Rules that may merge records with different DOIs, one on each side: a correction notice has
#: a DOI of its own, and one publisher's mistyped DOI of an article.
DOI_TOLERANT_RULES = frozenset({"erratum_of_item", "doi_typo_same_article"})
#: Rules that may merge records two years apart (online-first year against the issue's year).
YEAR_TOLERANT_RULES = frozenset({"title_same_issue_years_apart"})
#: Rules that may merge records whose start pages differ: an erratum or meeting abstract printed
#: on other pages of the same volume (the rule itself demands title, authors, journal, volume, year).
PAGE_TOLERANT_RULES: frozenset[str] = frozenset({"title_same_volume_other_pages", "erratum_of_item"})
#: Rules that may merge a record with its re-print: another DOI, volume and start page (the rule
#: demands the same long title, authors, journal and length, a year apart at most). Each side
#: may bring at most one DOI and one volume, so the exception cannot chain two clusters.
REPRINT_RULES: frozenset[str] = frozenset({"duplicate_publication_same_length"})


@dataclass
class _Cluster:
    members: list[int]
    dois: set[str] = field(default_factory=set)
    pmids: set[str] = field(default_factory=set)
    registrations: set[str] = field(default_factory=set)
    years: set[int] = field(default_factory=set)
    pages: set[str] = field(default_factory=set)
    volumes: set[str] = field(default_factory=set)


class GuardedUnionFind:
    """Union-find over record positions that refuses unions the guard forbids."""

    def __init__(self, keys: pd.DataFrame, cannot_link: Iterable[tuple[int, int]] = ()) -> None:
        n = len(keys)
        self.parent = list(range(n))  # a list: the union loop reads it per pair, faster than NumPy scalars
        self.clusters: dict[int, _Cluster] = {}
        # plain lists: per-record lookups in the union loop must not go through pandas
        self._doi = keys["doi_key"].tolist()
        self._pmid = keys["pmid_key"].tolist()
        self._registration = keys["registration_key"].tolist()
        self._year = [int(y) for y in keys["year_key"].tolist()]
        self._online = [bool(o) for o in keys["online_first"].tolist()]
        self._page = keys["first_page"].tolist()
        self._volume = keys["volume_key"].tolist()
        self.cannot: dict[int, set[int]] = {}
        for a, b in cannot_link:
            self.cannot.setdefault(a, set()).add(b)
            self.cannot.setdefault(b, set()).add(a)

    def _cluster(self, root: int) -> _Cluster:
        cluster = self.clusters.get(root)
        if cluster is None:
            cluster = _Cluster(members=[root])
            doi = self._doi[root]
            pmid = self._pmid[root]
            year = self._year[root]
            online = self._online[root]
            page = self._page[root]
            volume = self._volume[root]
            if doi:
                cluster.dois.add(doi)
            if pmid:
                cluster.pmids.add(pmid)
            if self._registration[root]:
                cluster.registrations.add(self._registration[root])
            if year >= 0:
                cluster.years.add(year)
            if page and page != "1" and not online:  # page 1: per-article pagination says nothing
                cluster.pages.add(page)
            if volume and not online:
                cluster.volumes.add(volume)
            self.clusters[root] = cluster
        return cluster

    def find(self, x: int) -> int:
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return int(root)

    def blocked(self, a: int, b: int, *, by_identifier: bool, reviewer: bool, pages_may_differ: bool = False,
                dois_may_differ: bool = False, reprint: bool = False, years_may_differ: bool = False) -> str:
        """Why the clusters of ``a`` and ``b`` may not merge ("" when they may)."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return ""
        ca, cb = self._cluster(ra), self._cluster(rb)
        small, other = (ca, rb) if len(ca.members) <= len(cb.members) else (cb, ra)
        for m in small.members:
            for enemy in self.cannot.get(m, ()):
                if self.find(enemy) == other:
                    return "cannot_link"
        if reviewer:
            return ""
        one_each = reprint and max(len(ca.dois), len(cb.dois), len(ca.volumes), len(cb.volumes)) <= 1
        if len(ca.dois | cb.dois) > 1 and not ((dois_may_differ or one_each) and len(ca.dois) <= 1
                                               and len(cb.dois) <= 1):
            return "guard_doi"
        if len(ca.pmids | cb.pmids) > 1:
            return "guard_pmid"
        if len(ca.registrations | cb.registrations) > 1:  # a chain through a title match (a reviewer may join them)
            return "guard_registration"
        if by_identifier:
            return ""
        years = ca.years | cb.years
        if years and max(years) - min(years) > (2 if years_may_differ else 1):
            return "guard_year"
        if ca.volumes and cb.volumes and not ca.volumes & cb.volumes and not one_each:
            return "guard_volume"
        if pages_may_differ or one_each:
            return ""
        if ca.pages and cb.pages and not ca.pages & cb.pages:
            return "guard_pages"
        return ""

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        ca, cb = self._cluster(ra), self._cluster(rb)
        if len(ca.members) < len(cb.members):
            ra, rb, ca, cb = rb, ra, cb, ca
        self.parent[rb] = ra
        ca.members.extend(cb.members)
        ca.dois |= cb.dois
        ca.pmids |= cb.pmids
        ca.registrations |= cb.registrations
        ca.years |= cb.years
        ca.pages |= cb.pages
        ca.volumes |= cb.volumes
        del self.clusters[rb]

    def labels(self) -> np.ndarray:
        """Root of every position (pointer jumping over the whole array: no Python loop per record)."""
        roots = np.asarray(self.parent, dtype=np.int64)
        while True:
            up = roots[roots]
            if np.array_equal(up, roots):
                return roots
            roots = up


def components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected-component label (smallest member) per node of the graph with edges ``a``-``b``.

    Min-label propagation with pointer jumping in NumPy; duplicate clusters are small, so it
    converges in a few rounds.
    """
    labels = np.arange(n, dtype=np.int64)
    if not len(a):
        return labels
    while True:
        low = np.minimum(labels[a], labels[b])
        new = labels.copy()
        np.minimum.at(new, a, low)
        np.minimum.at(new, b, low)
        new = new[new]
        if np.array_equal(new, labels):
            return labels
        labels = new


def _answered(pairs: pd.DataFrame, reviewer_same: np.ndarray, reviewer: np.ndarray, ii: np.ndarray,
              jj: np.ndarray) -> np.ndarray:
    """Per pair: a :data:`DEFERRED_RULES` question a reviewer's "same" already answered for one of
    its records (the same rule on a pair the reviewer joined), so its cannot-link is lifted. A
    pair a reviewer decided keeps their word ("different" stays a cannot-link)."""
    # vectorised on the (categorical) rule column: this runs over every pair, millions at scale,
    # and only the few deferred ones are looked at in Python
    asked = pairs["machine_rule"].isin(DEFERRED_RULES).to_numpy(dtype=bool)
    out = np.zeros(len(pairs), dtype=bool)
    joined = np.flatnonzero(reviewer_same & asked)
    if not len(joined):
        return out
    rule_at = pairs["machine_rule"]
    answered = set()
    for pos, rule in zip(joined.tolist(), rule_at.iloc[joined].tolist()):
        answered.update(((int(ii[pos]), rule), (int(jj[pos]), rule)))
    open_ = np.flatnonzero(asked & ~reviewer)
    for pos, rule in zip(open_.tolist(), rule_at.iloc[open_].tolist()):
        out[pos] = (int(ii[pos]), rule) in answered or (int(jj[pos]), rule) in answered
    return out


def cluster_pairs(keys: pd.DataFrame, pairs: pd.DataFrame) -> tuple[np.ndarray, pd.Series]:
    """Cluster labels per record position, and the guard outcome per pair (categorical).

    ``pairs`` needs ``i``, ``j``, ``decision``, ``rule`` and ``reviewer`` (bool: the decision
    came from the reviewers' file). Reviewer pairs go first, then "same" pairs by identifier,
    then by score (descending), then by position, so the result is deterministic.
    """
    # millions of pairs, few of them "same": compare whole text columns vectorised (Arrow strings
    # become Python objects only where they are used, for the "same" pairs)
    is_reviewer = pairs["reviewer"].to_numpy(dtype=bool)
    is_same = (pairs["decision"] == "same").to_numpy(dtype=bool)
    ii = pairs["i"].to_numpy()
    jj = pairs["j"].to_numpy()
    same = np.flatnonzero(is_same)
    rule_same = pairs["rule"].iloc[same].to_numpy(dtype=object)
    hard = ((pairs["decision"] == "different").to_numpy(dtype=bool) & is_reviewer) | pairs["rule"].isin(
        HARD_RULES).to_numpy(dtype=bool)
    # a cannot-link only matters inside one component of the "same" graph: clusters never cross
    # components, so links between components (most of the millions of "different" pairs) are dropped
    component = components(len(keys), ii[same], jj[same])
    hard &= component[ii] == component[jj]
    if "machine_rule" in pairs and (is_reviewer & is_same).any():
        hard &= ~_answered(pairs, is_reviewer & is_same, is_reviewer, ii, jj)
    cannot = zip(ii[hard].tolist(), jj[hard].tolist())
    uf = GuardedUnionFind(keys, cannot)

    by_id = np.array([r in ID_RULES for r in rule_same.tolist()], dtype=bool)
    order = np.lexsort(
        (jj[same], ii[same], -pairs["score"].fillna(0).to_numpy()[same], ~by_id, ~is_reviewer[same])
    )
    outcome_same = np.full(len(same), "merged", dtype=object)
    pages_overlap = pairs["first_page"].to_numpy()[same] == OVERLAP
    reviewer_same = is_reviewer[same]
    for k in order.tolist():
        pos, rule = same[k], rule_same[k]
        a, b = int(ii[pos]), int(jj[pos])
        why = uf.blocked(a, b, by_identifier=rule in ID_RULES, reviewer=bool(reviewer_same[k]),
                         pages_may_differ=rule in PAGE_TOLERANT_RULES or bool(pages_overlap[k]),
                         dois_may_differ=rule in DOI_TOLERANT_RULES, reprint=rule in REPRINT_RULES,
                         years_may_differ=rule in YEAR_TOLERANT_RULES)
        if why:
            outcome_same[k] = why
        else:
            uf.union(a, b)
    # "" for every pair that is not "same": codes into the few distinct outcomes, not a string per pair
    kinds, codes = np.unique(np.concatenate([[""], outcome_same]).astype(str), return_inverse=True)
    per_pair = np.zeros(len(pairs), dtype=np.int64)
    per_pair[same] = codes[1:]
    return uf.labels(), pd.Series(pd.Categorical.from_codes(per_pair, categories=kinds), index=pairs.index)

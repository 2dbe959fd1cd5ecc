"""Theme-coding benchmark on a labelled proxy: included records of several screening reviews.

Each review in ../shared/benchmarks/screening is one "theme"; its included records are the
studies with that theme. The codebook coder (seed terms + zero-shot) and BERTopic are scored
against review membership beside scikit-learn baselines in the same run:

* codebook assignment: macro-F1 (single-label "review" dimension) vs a TF-IDF cosine coder
  using the same codebook texts;
* topics: NMI / ARI of BERTopic topics vs TF-IDF + NMF and TF-IDF + LDA (k = number of reviews).

It also prints embedding throughput per backend (cold cache, on a fixed subset), proves a
second run on unchanged records embeds nothing, and times coding 20,000 records (resampled)
with cached embeddings. Embeddings persist in --cache-dir, so re-runs do not re-embed.

Excluded on purpose: ``ace`` and ``nudging/Nagtegaal_2019`` (duplicates of Cohen ACEInhibitors
and ``nudging``) and ``Wahono_2015_partial`` (software defect prediction, the same topic as
Radjenovic 2013: membership there is not a theme any method could recover). Records without
title and abstract, and titles included in more than one review, are dropped (counts printed).

Run: ``python benchmarks/coding_benchmark.py [--backends minilm,tfidf] [--skip-20k]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from evreview.code.assign import code_studies
from evreview.code.codebook import build_codebook
from evreview.code.topics import TopicConfig
from evreview.embed import embed_studies, fit_backend, make_backend, study_text
from evreview.records import fold

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("EVREVIEW_SHARED", REPO.parent / "shared")) / "benchmarks" / "screening"

# (review id, files, label column, description, seed terms)
REVIEWS: list[tuple[str, list[str], str, str, list[str]]] = [
    ("nudging", ["nudging/nudging.csv"], "included",
     "Interventions such as reminders, decision support, defaults and feedback that nudge physicians' "
     "prescribing, test ordering or other clinical behaviour in health services.",
     ["nudge*", "reminder*", "decision support", "physician behavio*", "prescribing", "audit and feedback",
      "computerized", "computerised", "order entry", "alert*"]),
    ("virus", ["virus/virus.csv"], "included",
     "Viruses and viromes of pigs: genome characterisation, metagenomic discovery and prevalence of porcine "
     "viruses in swine.",
     ["porcine", "swine", "pig*", "piglet*", "virome", "sow*", "metagenom*"]),
    ("depression_models", ["Bannach-Brown_2019/Bannach-Brown_2019.csv"], "label_included",
     "Animal models of depression: rodents under chronic stress, forced swim or tail suspension tests and "
     "the effects of antidepressant treatments on depressive-like behaviour.",
     ["rats", "mice", "forced swim*", "tail suspension", "chronic mild stress", "depressive-like",
      "antidepressant-like", "chronic unpredictable", "learned helplessness", "olfactory bulbectomy"]),
    ("proton_beam", ["Wallace_2010/proton_beam.csv"], "label_included",
     "Proton beam and charged particle radiotherapy for cancers such as uveal melanoma, prostate cancer and "
     "chordoma: outcomes and toxicity.",
     ["proton*", "charged particle", "helium ion*", "uveal melanoma", "chordoma", "particle therapy"]),
    ("micronutrients", ["Wallace_2010/micro_nutrients.csv"], "label_included",
     "Vitamin and mineral (micronutrient) supplementation or status and disease outcomes, mostly from "
     "systematic reviews and meta-analyses.",
     ["vitamin*", "micronutrient*", "iron", "zinc", "folate", "folic acid", "selenium", "calcium",
      "multivitamin*", "supplementation", "omega 3", "iodine", "magnesium", "manganese"]),
    ("copd_genetics", ["Wallace_2010/copd.csv"], "label_included",
     "Genetic polymorphisms and gene variants associated with chronic obstructive pulmonary disease (COPD) "
     "and lung function decline.",
     ["copd", "chronic obstructive", "polymorphism*", "genotype*", "allele*", "emphysema", "lung function",
      "gene variant*"]),
    ("fault_prediction", ["Radjenovic_2013/Radjenovic2005-.csv", "Radjenovic_2013/Radjenovic2005+.csv"], "label",
     "Software fault prediction using code, object-oriented and process metrics to find fault-prone modules.",
     ["fault*", "defect*", "software metric*", "object oriented", "fault prone", "module*", "software"]),
    ("ace_inhibitors", ["Cohen_2006/ACEInhibitors.csv"], "label_included",
     "Angiotensin-converting enzyme (ACE) inhibitors such as enalapril, captopril, lisinopril and ramipril "
     "for hypertension, heart failure or kidney disease.",
     ["ace inhibitor*", "angiotensin converting", "enalapril", "captopril", "lisinopril", "ramipril",
      "perindopril", "quinapril", "trandolapril", "fosinopril", "benazepril"]),
    ("adhd", ["Cohen_2006/ADHD.csv"], "label_included",
     "Drug treatment of attention deficit hyperactivity disorder with stimulants such as methylphenidate, "
     "amphetamine or atomoxetine.",
     ["adhd", "attention deficit", "hyperactivity", "methylphenidate", "amphetamine*", "atomoxetine",
      "dexmethylphenidate", "pemoline"]),
    ("antihistamines", ["Cohen_2006/Antihistamines.csv"], "label_included",
     "Second-generation antihistamines such as loratadine, cetirizine and fexofenadine for allergic rhinitis "
     "or urticaria.",
     ["antihistamine*", "loratadine", "desloratadine", "cetirizine", "levocetirizine", "fexofenadine",
      "allergic rhinitis", "urticaria"]),
    ("atypical_antipsychotics", ["Cohen_2006/AtypicalAntipsychotics.csv"], "label_included",
     "Atypical antipsychotics such as olanzapine, risperidone, quetiapine and clozapine for schizophrenia or "
     "bipolar disorder.",
     ["antipsychotic*", "olanzapine", "risperidone", "quetiapine", "clozapine", "ziprasidone", "aripiprazole",
      "schizophreni*", "haloperidol"]),
    ("beta_blockers", ["Cohen_2006/BetaBlockers.csv"], "label_included",
     "Beta-adrenergic blockers such as metoprolol, carvedilol, atenolol and bisoprolol for hypertension, "
     "angina, heart failure or after myocardial infarction.",
     ["beta blocker*", "beta adrenergic", "metoprolol", "carvedilol", "atenolol", "bisoprolol", "propranolol",
      "nebivolol", "timolol", "acebutolol", "labetalol"]),
    ("calcium_channel_blockers", ["Cohen_2006/CalciumChannelBlockers.csv"], "label_included",
     "Calcium channel blockers such as amlodipine, nifedipine, diltiazem and verapamil for hypertension or "
     "angina.",
     ["calcium channel", "calcium antagonist*", "amlodipine", "nifedipine", "diltiazem", "verapamil",
      "felodipine", "nisoldipine", "isradipine", "nicardipine"]),
    ("estrogens", ["Cohen_2006/Estrogens.csv"], "label_included",
     "Estrogen and hormone replacement therapy in postmenopausal women, for menopausal symptoms or bone loss.",
     ["estrogen*", "oestrogen*", "estradiol", "hormone replacement", "postmenopausal", "menopaus*",
      "conjugated equine"]),
    ("nsaids", ["Cohen_2006/NSAIDS.csv"], "label_included",
     "Non-steroidal anti-inflammatory drugs and COX-2 inhibitors such as celecoxib, rofecoxib, naproxen and "
     "ibuprofen for arthritis pain.",
     ["nsaid*", "anti inflammatory", "cox 2", "celecoxib", "rofecoxib", "valdecoxib", "naproxen", "ibuprofen",
      "diclofenac", "meloxicam", "etodolac"]),
    ("opioids", ["Cohen_2006/Opiods.csv"], "label_included",
     "Long-acting opioid analgesics such as oxycodone, morphine, fentanyl and methadone for chronic pain.",
     ["opioid*", "oxycodone", "morphine", "fentanyl", "methadone", "hydromorphone", "oxymorphone",
      "levorphanol", "analgesi*"]),
    ("oral_hypoglycemics", ["Cohen_2006/OralHypoglycemics.csv"], "label_included",
     "Oral hypoglycaemic drugs such as sulfonylureas, metformin, glitazones and meglitinides for type 2 "
     "diabetes.",
     ["glyburide", "glibenclamide", "glipizide", "glimepiride", "metformin", "repaglinide", "nateglinide",
      "pioglitazone", "rosiglitazone", "sulfonylurea*", "type 2 diabetes", "hypoglycemic", "glycemic"]),
    ("proton_pump_inhibitors", ["Cohen_2006/ProtonPumpInhibitors.csv"], "label_included",
     "Proton pump inhibitors such as omeprazole, lansoprazole and esomeprazole for gastro-oesophageal reflux "
     "or ulcers.",
     ["proton pump", "omeprazole", "esomeprazole", "lansoprazole", "pantoprazole", "rabeprazole", "reflux",
      "gerd", "ulcer*", "helicobacter"]),
    ("muscle_relaxants", ["Cohen_2006/SkeletalMuscleRelaxants.csv"], "label_included",
     "Skeletal muscle relaxants such as baclofen, tizanidine and cyclobenzaprine for spasticity or "
     "musculoskeletal conditions.",
     ["muscle relaxant*", "baclofen", "tizanidine", "cyclobenzaprine", "carisoprodol", "dantrolene",
      "methocarbamol", "spasticity", "metaxalone"]),
    ("triptans", ["Cohen_2006/Triptans.csv"], "label_included",
     "Triptans such as sumatriptan, rizatriptan and zolmitriptan for acute migraine attacks.",
     ["triptan*", "sumatriptan", "rizatriptan", "zolmitriptan", "naratriptan", "eletriptan", "almotriptan",
      "frovatriptan", "migraine"]),
    ("urinary_incontinence", ["Cohen_2006/UrinaryIncontinence.csv"], "label_included",
     "Antimuscarinic drugs such as oxybutynin, tolterodine and trospium for overactive bladder and urge "
     "urinary incontinence.",
     ["oxybutynin", "tolterodine", "trospium", "darifenacin", "solifenacin", "overactive bladder",
      "incontinence", "detrusor"]),
]


def benchmark_codebook() -> dict:
    return {
        "name": "coding benchmark: review membership",
        "assignment": {"min_similarity": 0.0, "calibrate": True, "term_weight": 0.3, "languages": ["eng"],
                       "topic_dimension": "review"},
        "dimensions": [
            {
                "id": "review",
                "label": "Review",
                "multi_label": False,
                "map": "axis",
                "codes": [
                    {"id": rid, "label": rid.replace("_", " "), "description": desc, "terms": terms}
                    for rid, _files, _col, desc, terms in REVIEWS
                ],
            }
        ],
    }


def _read(path: Path) -> pd.DataFrame:
    for enc in ("utf-8", "cp1252", "latin-1"):
        try:
            return pd.read_csv(path, encoding=enc, dtype=str, keep_default_na=False)
        except UnicodeDecodeError:
            continue
    raise RuntimeError(f"cannot decode {path}")


def load_pool() -> tuple[pd.DataFrame, dict[str, int]]:
    """Included records of every review, with the review as the label."""
    frames = []
    for rid, files, col, _desc, _terms in REVIEWS:
        for name in files:
            d = _read(SHARED / name)
            inc = d[d[col].str.strip().str.lower().isin(["1", "yes", "1.0"])]
            title = inc.get("title", inc.get("Document Title"))
            abstract = inc.get("abstract", inc.get("Abstract"))
            year = inc.get("year", inc.get("Year", pd.Series("", index=inc.index)))
            frames.append(pd.DataFrame({"review": rid, "title": title.values, "abstract": abstract.values,
                                        "year": pd.to_numeric(year.values, errors="coerce")}))
    pool = pd.concat(frames, ignore_index=True)
    counts = {"included": len(pool)}
    text = (pool["title"].str.strip() + pool["abstract"].str.strip()).str.len() > 0
    pool = pool[text]
    counts["dropped_no_text"] = counts["included"] - len(pool)
    key = pool["title"].map(fold)
    multi = key.map(pool.assign(k=key).groupby("k")["review"].nunique()) > 1
    counts["dropped_in_several_reviews"] = int(multi.sum())
    pool = pool[~multi].reset_index(drop=True)
    pool["study_id"] = [f"b{i:05d}" for i in range(len(pool))]
    pool["language"] = "eng"
    pool["keywords"] = [[] for _ in range(len(pool))]
    pool["year"] = pool["year"].astype("Int64")
    counts["pool"] = len(pool)
    return pool, counts


def _macro_f1(truth: list[str], pred: list[str]) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(truth, pred, labels=sorted(set(truth)), average="macro", zero_division=0))


def _cluster_scores(truth: list[str], labels: list[int]) -> tuple[float, float]:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    return float(normalized_mutual_info_score(truth, labels)), float(adjusted_rand_score(truth, labels))


def baselines(pool: pd.DataFrame, codebook: dict, seed: int = 0) -> dict[str, float]:
    """TF-IDF cosine codebook coder, TF-IDF+NMF and TF-IDF+LDA topics (k = number of reviews)."""
    from sklearn.decomposition import NMF, LatentDirichletAllocation
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

    docs = [study_text(t, a) for t, a in zip(pool["title"], pool["abstract"])]
    codes = codebook["dimensions"][0]["codes"]
    code_texts = [f"{c['label']}: {c['description']} {', '.join(c['terms'])}" for c in codes]
    tfidf = TfidfVectorizer(stop_words="english", sublinear_tf=True, min_df=2)
    x = tfidf.fit_transform(docs)
    sims = (x @ tfidf.transform(code_texts).T).toarray()
    pred = [codes[j]["id"] for j in sims.argmax(axis=1)]
    out = {"tfidf_coder_macro_f1": _macro_f1(pool["review"].tolist(), pred)}
    k = len(codes)
    nmf = NMF(n_components=k, random_state=seed, init="nndsvd", max_iter=400).fit_transform(x)
    out["nmf_nmi"], out["nmf_ari"] = _cluster_scores(pool["review"].tolist(), nmf.argmax(axis=1).tolist())
    counts = CountVectorizer(stop_words="english", min_df=2, max_features=5000).fit_transform(docs)
    lda = LatentDirichletAllocation(
        n_components=k, random_state=seed, learning_method="online", max_iter=20, batch_size=256
    ).fit_transform(counts)
    out["lda_nmi"], out["lda_ari"] = _cluster_scores(pool["review"].tolist(), lda.argmax(axis=1).tolist())
    return out


def run_backend(name: str, pool: pd.DataFrame, codebook, cache_dir: Path, args) -> dict[str, object]:
    backend = make_backend(name, device="cpu")
    sorted_pool = pool.sort_values("study_id").reset_index(drop=True)
    proto_texts = [c.prototype_text for c in codebook.dimensions[0].codes]
    fit_backend(backend, [study_text(t, a) for t, a in zip(sorted_pool["title"], sorted_pool["abstract"])]
                + proto_texts)
    res: dict[str, object] = {"backend": backend.model_id}
    # Throughput on a cold cache, fixed subset (so re-runs can still measure it cheaply).
    subset = sorted_pool.head(args.throughput_n)
    with tempfile.TemporaryDirectory() as cold:
        t0 = time.perf_counter()
        cold_emb = embed_studies(subset, backend, cold, batch_size=args.batch_size, progress=False)
        dt = time.perf_counter() - t0
    res["throughput_records_per_s"] = round(len(subset) / dt, 1)
    res["throughput_sentences_per_s"] = round(cold_emb.stats.n_embedded / dt, 1)
    t0 = time.perf_counter()
    emb = embed_studies(sorted_pool, backend, cache_dir, batch_size=args.batch_size, progress=True)
    res["run1_records_embedded"] = emb.stats.n_records_embedded
    res["run1_texts_embedded"] = emb.stats.n_embedded
    res["run1_embed_s"] = round(time.perf_counter() - t0, 2)
    emb2 = embed_studies(sorted_pool, backend, cache_dir, batch_size=args.batch_size, progress=False)
    res["run2_records_embedded"] = emb2.stats.n_records_embedded
    res["run2_texts_embedded"] = emb2.stats.n_embedded
    assert np.array_equal(emb.study_vectors, emb2.study_vectors)
    t0 = time.perf_counter()
    result = code_studies(sorted_pool, codebook, emb2, backend, cache_dir=cache_dir,
                          topic_config=TopicConfig(seed=42, min_topic_size=args.min_topic_size))
    res["code_s"] = round(time.perf_counter() - t0, 2)
    assigned = result.assignments[(result.assignments["dimension"] == "review")
                                  & (result.assignments["status"] == "assigned")]
    pred_map = assigned.groupby("study_id")["code"].first().to_dict()
    truth = sorted_pool["review"].tolist()
    pred = [pred_map.get(s, "none") for s in sorted_pool["study_id"]]
    res["codebook_macro_f1"] = round(_macro_f1(truth, pred), 4)
    zs_only = assigned[assigned["method"] == "zero-shot"].groupby("study_id")["code"].first().to_dict()
    res["zero_shot_only_macro_f1"] = round(
        _macro_f1(truth, [zs_only.get(s, "none") for s in sorted_pool["study_id"]]), 4)
    per_study = result.topic_result.per_study.set_index("study_id")
    topics = [int(per_study.loc[s, "topic"]) for s in sorted_pool["study_id"]]
    res["bertopic_n_topics"] = len(set(topics))
    res["bertopic_nmi"], res["bertopic_ari"] = (round(v, 4) for v in _cluster_scores(truth, topics))
    res["_emb"] = emb2
    res["_backend"] = backend
    return res


def _timed(fn):
    """(result, wall seconds, CPU seconds of this process): the machine is shared, so both are printed."""
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, round(time.perf_counter() - w, 2), round(time.process_time() - c, 2)


def time_20k(pool: pd.DataFrame, codebook, backend, cache_dir: Path, n: int, args) -> dict[str, float]:
    """Code ``n`` resampled studies with cached embeddings (texts repeat, so the cache serves them).

    With ``--bertopic-20k`` also: coding with a BERTopic fit, then a second search round of
    ``n // 10`` more studies coded with the saved topic model reused (no refit; issue #8).
    """
    rng = np.random.default_rng(0)
    big = pool.iloc[rng.integers(0, len(pool), size=n)].reset_index(drop=True)
    big["study_id"] = [f"x{i:06d}" for i in range(n)]
    emb, t_embed, c_embed = _timed(lambda: embed_studies(big, backend, cache_dir, batch_size=args.batch_size,
                                                         progress=False))
    _, t_code, c_code = _timed(lambda: code_studies(big, codebook, emb, backend, cache_dir=cache_dir,
                                                    fit_topic_model=False))
    out: dict[str, float] = {"n": n, "newly_embedded": emb.stats.n_embedded, "cache_lookup_s": t_embed,
                             "cache_lookup_cpu_s": c_embed, "code_without_topics_s": t_code,
                             "code_without_topics_cpu_s": c_code}
    if args.bertopic_20k:
        # Opt-in: fitting BERTopic (UMAP + HDBSCAN) on 20k studies dominates the time by far and
        # says nothing about the coder; the topic model is measured on the real pool above.
        from evreview.code import write_coding
        from evreview.code.topics import load_saved_topics

        config = TopicConfig(seed=42, min_topic_size=args.min_topic_size)
        first, t_fit, c_fit = _timed(lambda: code_studies(big, codebook, emb, backend, cache_dir=cache_dir,
                                                          topic_config=config))
        out["code_with_bertopic_fit_s"], out["code_with_bertopic_fit_cpu_s"] = t_fit, c_fit
        out["n_topics"] = len(first.topics)
        extra = pool.iloc[rng.integers(0, len(pool), size=n // 10)].reset_index(drop=True)
        extra["study_id"] = [f"x{i:06d}" for i in range(n, n + len(extra))]
        round2 = pd.concat([big, extra], ignore_index=True)
        emb2 = embed_studies(round2, backend, cache_dir, batch_size=args.batch_size, progress=False)
        with tempfile.TemporaryDirectory() as tmp:
            write_coding(first, tmp)
            saved = load_saved_topics(Path(tmp) / "topic_model")
            second, t_reuse, c_reuse = _timed(lambda: code_studies(
                round2, codebook, emb2, backend, cache_dir=cache_dir, topic_config=config, saved_topics=saved))
        out["round2_n"] = len(round2)
        out["round2_code_reusing_topics_s"], out["round2_code_reusing_topics_cpu_s"] = t_reuse, c_reuse
        out["round2_topic_model"] = second.stats["topic_model"]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="minilm,tfidf")
    parser.add_argument("--cache-dir", type=Path,
                        default=Path(os.environ.get("EVREVIEW_CACHE", Path.home() / ".cache" / "evreview")) / "bench")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--throughput-n", type=int, default=200)
    parser.add_argument("--min-topic-size", type=int, default=10)
    parser.add_argument("--n-synthetic", type=int, default=20_000)
    parser.add_argument("--skip-20k", action="store_true")
    parser.add_argument("--bertopic-20k", action="store_true",
                        help="also time a BERTopic fit on the 20k set and a second round reusing it (slow; off by "
                             "default)")
    parser.add_argument("--only-20k", action="store_true",
                        help="skip baselines and pool scoring; time only the 20k coding (first backend)")
    args = parser.parse_args(argv)
    if not SHARED.is_dir():
        print(f"shared benchmarks not found at {SHARED}", file=sys.stderr)
        return 2
    pool, counts = load_pool()
    print(f"pool: {counts}; reviews: {pool['review'].nunique()}")
    print(pool["review"].value_counts().sort_index().to_string())
    raw_cb = benchmark_codebook()
    codebook = build_codebook(raw_cb, source="benchmark codebook")
    if args.only_20k:
        name = args.backends.split(",")[0].strip()
        backend = make_backend(name, device="cpu")
        srt = pool.sort_values("study_id").reset_index(drop=True)
        fit_backend(backend, [study_text(t, a) for t, a in zip(srt["title"], srt["abstract"])]
                    + [c.prototype_text for c in codebook.dimensions[0].codes])
        timing = time_20k(pool, codebook, backend, args.cache_dir, args.n_synthetic, args)
        print(f"\n20k coding with cached embeddings ({backend.model_id}): {timing}")
        return 0
    t0 = time.perf_counter()
    base = baselines(pool, raw_cb)
    print(f"\nbaselines ({time.perf_counter() - t0:.1f}s): " + ", ".join(f"{k}={v:.4f}" for k, v in base.items()))
    results = []
    for name in [b.strip() for b in args.backends.split(",") if b.strip()]:
        res = run_backend(name, pool, codebook, args.cache_dir, args)
        print(f"\n[{name}] " + ", ".join(f"{k}={v}" for k, v in res.items() if not k.startswith("_")))
        print(f"  second run on unchanged records embedded {res['run2_records_embedded']} records "
              f"({res['run2_texts_embedded']} texts)")
        verdict_f1 = res["codebook_macro_f1"] > base["tfidf_coder_macro_f1"]
        verdict_topics = res["bertopic_nmi"] > max(base["nmf_nmi"], base["lda_nmi"])
        print(f"  codebook coder beats TF-IDF coder baseline: {verdict_f1}; "
              f"BERTopic NMI beats NMF/LDA: {verdict_topics}; macro-F1 >= 0.85: {res['codebook_macro_f1'] >= 0.85}")
        results.append(res)
    if not args.skip_20k and results:
        first = results[0]
        timing = time_20k(pool, codebook, first["_backend"], args.cache_dir, args.n_synthetic, args)
        print(f"\n20k coding with cached embeddings ({first['backend']}): {timing}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

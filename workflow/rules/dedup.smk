# Deduplicate every ingested record (all rounds) into studies. Reviewers' pair decisions
# (paths.decisions/duplicates.csv, optional) always win.


rule deduplicate:
    input:
        records=f"{RESULTS}/records.parquet",
        decisions=optional_decisions("duplicates.csv"),
    output:
        duplicates=f"{RESULTS}/dedup/duplicates.csv",
        studies=f"{RESULTS}/dedup/studies.parquet",
        pairs=f"{RESULTS}/dedup/pairs.parquet",
        maybe=f"{RESULTS}/dedup/maybe_pairs.csv",
    benchmark:
        f"{LOGS}/benchmarks/deduplicate.tsv"
    log:
        f"{LOGS}/deduplicate.log",
    params:
        out=folder_of("duplicates"),
        decisions=lambda wildcards, input: decisions_flag(input.decisions),
        # keys per export file and scores per pair from earlier runs: a new round compares only new pairs
        cache=f"{RESULTS}/dedup/cache",
    threads: 2
    resources:
        mem_mb=mem_mb(2000, 20),
        runtime=240,
    shell:
        "evreview dedup {input.records:q} --out {params.out:q} --cache-dir {params.cache:q} --workers {threads} "
        "{params.decisions} "
        "> {log:q} 2>&1"

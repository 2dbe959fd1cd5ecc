# Eligibility rules, reviewers' decisions, and the ranked worklist with a stopping estimate.


rule screen:
    input:
        studies=f"{RESULTS}/dedup/studies.parquet",
        duplicates=f"{RESULTS}/dedup/duplicates.csv",
        decisions=optional_decisions("screening.csv"),
    output:
        screening=f"{RESULTS}/screen/screening.csv",
        worklist=f"{RESULTS}/screen/worklist.csv",
        worklist_ris=f"{RESULTS}/screen/worklist.ris",
        conflicts=f"{RESULTS}/screen/conflicts.csv",
        stopping=f"{RESULTS}/screen/stopping.json",
    benchmark:
        f"{LOGS}/benchmarks/screen.tsv"
    log:
        f"{LOGS}/screen.log",
    params:
        out=folder_of("screening"),
        # per-study term counts (content-hashed): not an output, or Snakemake would delete it before each run
        cache=f"{RESULTS}/screen/cache",
        decisions=lambda wildcards, input: decisions_flag(input.decisions),
        # the sections it reads (rules and ranker; the review question orders a cold start)
        config=CONFIG_FILE,
        settings=settings("review", "screening"),
    threads: 1
    resources:
        # 164k studies: 2.5 GB peak on a first run (term-count cache being built)
        mem_mb=mem_mb(3000, 10),
        runtime=60,
    shell:
        "evreview screen-report --studies {input.studies:q} --duplicates {input.duplicates:q} "
        "--config {params.config:q} {params.decisions} --out {params.out:q} "
        "--cache-dir {params.cache:q} > {log:q} 2>&1"

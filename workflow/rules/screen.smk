# Eligibility rules, reviewers' decisions, and the ranked worklist with a stopping estimate.


rule screen:
    input:
        studies=f"{RESULTS}/dedup/studies.parquet",
        duplicates=f"{RESULTS}/dedup/duplicates.csv",
        decisions=optional_decisions("screening.csv"),
        config=CONFIG_FILE,
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
        decisions=lambda wildcards, input: decisions_flag(input.decisions),
    threads: 1
    resources:
        mem_mb=mem_mb(2000, 10),
        runtime=60,
    shell:
        "evreview screen-report --studies {input.studies:q} --duplicates {input.duplicates:q} "
        "--config {input.config:q} {params.decisions} --out {params.out:q} > {log:q} 2>&1"

# Ingest each export on its own (a new search round re-ingests only its new files),
# then gather them into one record table.


rule ingest_file:
    input:
        export=f"{RAW}/{{search}}/{{file}}",
        config=CONFIG_FILE,
    output:
        records=f"{RESULTS}/ingest/{{search}}/{{file}}.parquet",
        report=f"{RESULTS}/ingest/{{search}}/{{file}}_report.csv",
        problems=f"{RESULTS}/ingest/{{search}}/{{file}}_problems.csv",
    benchmark:
        f"{LOGS}/benchmarks/ingest/{{search}}/{{file}}.tsv"
    log:
        f"{LOGS}/ingest/{{search}}/{{file}}.log",
    threads: 1
    resources:
        mem_mb=mem_mb(1000, 6),
        runtime=60,
    shell:
        "evreview ingest {input.export:q} --config {input.config:q} --search {wildcards.search:q} "
        "--root . --out {output.records:q} --report {output.report:q} "
        "--problems {output.problems:q} > {log:q} 2>&1"


rule gather_records:
    input:
        ingested_tables(),
    output:
        records=f"{RESULTS}/records.parquet",
        report=f"{RESULTS}/ingest_report.csv",
        problems=f"{RESULTS}/ingest_problems.csv",
    benchmark:
        f"{LOGS}/benchmarks/gather_records.tsv"
    log:
        f"{LOGS}/gather_records.log",
    threads: 1
    resources:
        mem_mb=mem_mb(1000, 20),
        runtime=30,
    shell:
        "evreview gather {input:q} --out {output.records:q} --report {output.report:q} "
        "--problems {output.problems:q} > {log:q} 2>&1"

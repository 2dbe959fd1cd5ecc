# Ingest each export on its own (a new search round re-ingests only its new files),
# then gather them into one record table. A large RIS export (>= 20 MB) is parsed in two
# worker processes (byte-identical output), so its job asks for two threads.


rule ingest_file:
    input:
        export=f"{RAW}/{{search}}/{{file}}",
    output:
        records=f"{RESULTS}/ingest/{{search}}/{{file}}.parquet",
        report=f"{RESULTS}/ingest/{{search}}/{{file}}_report.csv",
        problems=f"{RESULTS}/ingest/{{search}}/{{file}}_problems.csv",
    benchmark:
        f"{LOGS}/benchmarks/ingest/{{search}}/{{file}}.tsv"
    log:
        f"{LOGS}/ingest/{{search}}/{{file}}.log",
    params:
        # only this export's own ingest options matter here (a param, not the config file as an
        # input: adding a search round to the config must not re-ingest every earlier export,
        # nor a database or encoding glob for a new round's file)
        config=CONFIG_FILE,
        ingest=lambda wildcards: json.dumps(
            file_options(config.get("ingest", {}), f"{wildcards.search}/{wildcards.file}"), sort_keys=True
        ),
        # what each record id named on earlier runs: an export edited in place or moved to
        # another round would give its ids (and the decisions on them) to other records
        ids=f"{RESULTS}/ingest/ids",
    threads: lambda wildcards, input: 2 if input.size_mb >= 20 else 1
    resources:
        mem_mb=mem_mb(1000, 6),
        runtime=60,
    shell:
        "EVREVIEW_INGEST_WORKERS={threads} evreview ingest {input.export:q} --config {params.config:q} "
        "--search {wildcards.search:q} --root . --out {output.records:q} --report {output.report:q} "
        "--problems {output.problems:q} --id-register {params.ids:q} > {log:q} 2>&1"


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
    params:
        # the config's ingest.column_map is one map for every table, and each ingest_file job
        # sees one: a mapped column found in none of the tables (misspelt) is warned about here,
        # in ingest_problems.csv, from the tables' header lines. Only the map is a param (a
        # changed map re-runs this check): the whole ingest section re-gathered the records, and
        # re-ran dedup, screening and coding, when a glob for exports not yet there was added
        config=CONFIG_FILE,
        column_map=lambda wildcards: json.dumps(config.get("ingest", {}).get("column_map") or {}, sort_keys=True),
    threads: 1
    resources:
        mem_mb=mem_mb(1000, 20),
        runtime=30,
    shell:
        "evreview gather {input:q} --out {output.records:q} --report {output.report:q} "
        "--problems {output.problems:q} --config {params.config:q} --root . > {log:q} 2>&1"

# The ledger (every record's fate), and everything counted from it: PRISMA diagram,
# evidence-gap map, run report.


rule ledger:
    input:
        records=f"{RESULTS}/records.parquet",
        problems=f"{RESULTS}/ingest_problems.csv",
        duplicates=f"{RESULTS}/dedup/duplicates.csv",
        screening=f"{RESULTS}/screen/screening.csv",
        coded=f"{CODED}/coded_records.parquet",
    output:
        f"{RESULTS}/ledger.csv",
    benchmark:
        f"{LOGS}/benchmarks/ledger.tsv"
    log:
        f"{LOGS}/ledger.log",
    threads: 1
    resources:
        mem_mb=mem_mb(1000, 10),
        runtime=30,
    shell:
        "evreview ledger --records {input.records:q} --problems {input.problems:q} "
        "--duplicates {input.duplicates:q} --screening {input.screening:q} --coded {input.coded:q} "
        "--out {output:q} > {log:q} 2>&1"


rule prisma:
    input:
        ledger=f"{RESULTS}/ledger.csv",
        config=CONFIG_FILE,
        searches=SEARCH_FILES,
    output:
        csv=f"{RESULTS}/prisma/prisma.csv",
        counts=f"{RESULTS}/prisma/prisma_counts.json",
        svg=f"{RESULTS}/prisma/prisma.svg",
        png=f"{RESULTS}/prisma/prisma.png",
    benchmark:
        f"{LOGS}/benchmarks/prisma.tsv"
    log:
        f"{LOGS}/prisma.log",
    params:
        out=folder_of("csv"),
        raw=lambda wildcards: RAW,
    threads: 1
    resources:
        mem_mb=mem_mb(1000),
        runtime=10,
    shell:
        "evreview prisma --ledger {input.ledger:q} --config {input.config:q} --raw {params.raw:q} "
        "--out-dir {params.out:q} > {log:q} 2>&1"


rule evidence_gap_map:
    input:
        coded=f"{CODED}/coded_records.parquet",
        studies=f"{RESULTS}/dedup/studies.parquet",
        codebook=config.get("code", {}).get("codebook", "config/codebook.yaml"),
        # how many studies still await screening, said in gaps.md
        screening=f"{RESULTS}/screen/screening.csv",
    output:
        html=f"{RESULTS}/map/egm.html",
        svg=f"{RESULTS}/map/egm.svg",
        png=f"{RESULTS}/map/egm.png",
        cells=f"{RESULTS}/map/egm_cells.csv",
        cells_json=f"{RESULTS}/map/egm_cells.json",
        gaps=f"{RESULTS}/map/gaps.csv",
        gaps_md=f"{RESULTS}/map/gaps.md",
        cross=f"{RESULTS}/map/cross_gaps.csv",
    benchmark:
        f"{LOGS}/benchmarks/evidence_gap_map.tsv"
    log:
        f"{LOGS}/evidence_gap_map.log",
    params:
        out=folder_of("html"),
        # the sections it reads (axes and thresholds; the review title names the map)
        config=CONFIG_FILE,
        settings=settings("review", "map"),
    threads: 1
    resources:
        mem_mb=mem_mb(2000, 10),
        runtime=60,
    shell:
        "evreview map --coded {input.coded:q} --studies {input.studies:q} --codebook {input.codebook:q} "
        "--config {params.config:q} --screening {input.screening:q} --out-dir {params.out:q} > {log:q} 2>&1"


rule changes:
    input:
        ledger=f"{RESULTS}/ledger.csv",
        studies=f"{RESULTS}/dedup/studies.parquet",
        coded=f"{CODED}/coded_records.parquet",
        codebook=CODEBOOK,
        config=CONFIG_FILE,
        searches=SEARCH_FILES,
    output:
        json=f"{RESULTS}/changes/changes.json",
        md=f"{RESULTS}/changes/changes.md",
    benchmark:
        f"{LOGS}/benchmarks/changes.tsv"
    log:
        f"{LOGS}/changes.log",
    params:
        out=folder_of("json"),
        raw=lambda wildcards: RAW,
    threads: 1
    resources:
        mem_mb=mem_mb(1000, 10),
        runtime=30,
    shell:
        "evreview changes --ledger {input.ledger:q} --studies {input.studies:q} --coded {input.coded:q} "
        "--codebook {input.codebook:q} --config {input.config:q} --raw {params.raw:q} "
        "--out-dir {params.out:q} > {log:q} 2>&1"


rule run_report:
    input:
        config=CONFIG_FILE,
        ledger=f"{RESULTS}/ledger.csv",
        ingest_report=f"{RESULTS}/ingest_report.csv",
        exports=[f"{RAW}/{search}/{name}" for search, name in raw_exports()],
        pairs=f"{RESULTS}/dedup/pairs.parquet",
        stopping=f"{RESULTS}/screen/stopping.json",
        topics=f"{CODED}/topics.csv",
        unmatched=f"{CODED}/unmatched_decisions.csv",
        prisma=f"{RESULTS}/prisma/prisma.png",
        map_png=f"{RESULTS}/map/egm.png",
        map_html=f"{RESULTS}/map/egm.html",
        gaps=f"{RESULTS}/map/gaps.md",
        changes=f"{RESULTS}/changes/changes.json",
        searches=SEARCH_FILES,
    output:
        f"{RESULTS}/report.html",
    benchmark:
        f"{LOGS}/benchmarks/run_report.tsv"
    log:
        f"{LOGS}/run_report.log",
    params:
        raw=lambda wildcards: RAW,
    threads: 1
    resources:
        mem_mb=mem_mb(1000),
        runtime=10,
    shell:
        "evreview report --config {input.config:q} --ledger {input.ledger:q} "
        "--ingest-report {input.ingest_report:q} --inputs {input.exports:q} --pairs {input.pairs:q} "
        "--stopping {input.stopping:q} --topics {input.topics:q} --prisma-png {input.prisma:q} "
        "--map-png {input.map_png:q} --map-html {input.map_html:q} --gaps {input.gaps:q} "
        "--changes {input.changes:q} --unmatched-decisions {input.unmatched:q} --raw {params.raw:q} "
        "--out {output:q} > {log:q} 2>&1"

# The run's manifest: provenance (version, config hash, input hashes, model ids) and the
# sha256 of every output, CSV files included (they have no place for metadata of their own).


rule provenance:
    input:
        *rules.gather_records.output,
        *rules.deduplicate.output,
        *rules.screen.output,
        *rules.code.output,
        *rules.ledger.output,
        *rules.prisma.output,
        *rules.evidence_gap_map.output,
        *rules.changes.output,
        *rules.run_report.output,
    output:
        f"{RESULTS}/provenance.json",
    benchmark:
        f"{LOGS}/benchmarks/provenance.tsv"
    log:
        f"{LOGS}/provenance.log",
    threads: 1
    resources:
        mem_mb=mem_mb(500),
        runtime=10,
    shell:
        "evreview provenance {input:q} --out {output:q} > {log:q} 2>&1"

# evreview: systematic evidence review workflow.
# ingest -> deduplicate -> screen -> embed -> code -> map
# Every rule calls the `evreview` CLI, a thin shell over functions in src/evreview/.

from snakemake.utils import min_version

min_version("8.10")


# validated against src/evreview/schemas/config.schema.yaml by workflow/rules/common.smk
configfile: "config/config.yaml"



include: "workflow/rules/common.smk"
include: "workflow/rules/ingest.smk"
include: "workflow/rules/dedup.smk"
include: "workflow/rules/screen.smk"
include: "workflow/rules/code.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/provenance.smk"


# Every deliverable, not only provenance.json: a deleted report or map is then rebuilt on the
# next run (Snakemake does not rebuild a missing input of a job that is itself up to date).
rule all:
    input:
        *rules.provenance.input,
        *rules.provenance.output,
    default_target: True

# evreview: systematic evidence review workflow.
# ingest -> deduplicate -> screen -> embed -> code -> map
# Every rule calls the `evreview` CLI, a thin shell over functions in src/evreview/.

from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version

from evreview.config import read_config_yaml
from evreview.errors import EvreviewError

min_version("8.10")

# Snakemake reads the config YAML itself, and an impossible date in it (2024-02-30) ended the
# run in a traceback: each config file is read here first, a mistake one line naming it.
for _config in [*(["config/config.yaml"] if Path("config/config.yaml").exists() else []),
                *workflow.overwrite_configfiles]:
    try:
        read_config_yaml(_config)
    except EvreviewError as exc:
        raise WorkflowError(f"evreview: {exc}") from None


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

#!/usr/bin/env bash
# Set up (first run only), write the synthetic sample notes, and run the tagging job on them
# with the bundled model on the local runner. Extra arguments go to the job, e.g.
#   ./run_local.sh --direct_running_mode=multi_processing --direct_num_workers=2
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup_env.sh
export TOKENIZERS_PARALLELISM=false
notes=sample_data/notes.parquet
out=output/sample_run
.venv/bin/python -m job_core.samples "$notes" >/dev/null
echo "[run] tagging $notes -> $out"
.venv/bin/python -m beam_jobs.tag_notes --input "$notes" --output "$out" --passthrough patient_id,note_type "$@"
.venv/bin/python -m job_core.show "$out" "$notes"
echo "[run] report: $PWD/$out/report.html"

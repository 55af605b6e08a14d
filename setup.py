"""Install the clinical NER project: nercore (tagger), job_core (the job, engine-free), beam_jobs and spark_jobs
(its engines), schemas."""

from pathlib import Path

from setuptools import find_packages, setup

PACKAGES = ("nercore", "job_core", "beam_jobs", "spark_jobs", "schemas")


def read_requirements() -> list[str]:
    lines = Path(__file__).with_name("requirements.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


setup(
    name="clinical-ner",
    version="0.1.0",
    description="BERT-CRF clinical named-entity recognition as a nightly Apache Beam batch job",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=[f"{p}{s}" for p in PACKAGES for s in ("", ".*")]),
    package_data={
        "nercore": ["default_model/*"],
        "nercore.context": ["data/*.tsv"],
        "nercore.codes": ["data/*.tsv"],
    },
    include_package_data=True,
    install_requires=read_requirements(),
    extras_require={
        "dev": ["pytest>=7", "ruff>=0.5", "duckdb>=1.0"],  # duckdb: the warehouse tests read the tables as users do
        # The native Spark job (spark_jobs/): pinned to the 4.x it is tested on; pyspark holds the whole
        # engine (489 MB of jars) and runs on Java 17.
        "spark": ["pyspark==4.1.1"],
        "gcs": ["smart-open[gcs]>=6"],
        "s3": ["smart-open[s3]>=6"],
    },
    entry_points={
        "console_scripts": [
            "nercore-train=nercore.cli.train:main",
            "nercore-evaluate=nercore.cli.evaluate:main",
            "tag-notes=beam_jobs.tag_notes:main",
        ]
    },
)

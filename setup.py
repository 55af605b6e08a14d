"""Install the clinical NER project: nercore (tagger), beam_jobs (pipelines), schemas."""

from setuptools import find_packages, setup

setup(
    name="clinical-ner",
    version="0.1.0",
    description="BERT-CRF clinical named-entity recognition as a nightly Apache Beam batch job",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["nercore", "nercore.*", "beam_jobs", "beam_jobs.*", "schemas", "schemas.*"]),
    package_data={"nercore": ["default_model/*"]},
    include_package_data=True,
    install_requires=[
        "apache-beam>=2.60",
        # The CPU wheel is what the scripts install; any torch >= 2.1 (CUDA builds too) works.
        "torch>=2.1",
        "transformers>=4.40",
        "pytorch-crf>=0.7.2",
        "pyarrow>=14",
        "smart-open>=6",
        "safetensors>=0.4",
        "numpy>=1.24",
        "tqdm>=4.60",
    ],
    extras_require={
        "dev": ["pytest>=7", "ruff>=0.5"],
        "gcs": ["smart-open[gcs]>=6"],
        "s3": ["smart-open[s3]>=6"],
    },
    entry_points={
        "console_scripts": [
            "nercore-train=nercore.train:main",
            "nercore-evaluate=nercore.evaluate:main",
            "tag-notes=beam_jobs.tag_notes:main",
        ]
    },
)

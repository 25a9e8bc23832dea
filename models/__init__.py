"""Model files shipped with claimwire (a package so that setup.py / Beam's --setup_file carry them to workers)."""
import os

MODELS_DIR = os.path.dirname(os.path.abspath(__file__))
DEFAULT_NER_MODEL = "claimwire-ner-v1"
DEFAULT_ATTRIBUTION_MODEL = "claimwire-attribution-v1"


def model_path(name: str) -> str:
    return os.path.join(MODELS_DIR, name)


def local_model_dir(ref: str | None, default: str) -> str | None:
    """A model option's folder: the shipped `default` when unset, a directory as given, a name under models/;
    None when it is none of those (the caller decides: a hub id for NER, an error for the attribution head)."""
    if not ref:
        return model_path(default)
    if os.path.isdir(ref):
        return ref
    return model_path(ref) if os.path.isdir(model_path(ref)) else None

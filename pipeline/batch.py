"""One batch run into an output dataset: lock it, finish what a killed run left, run the pipeline into a staging
directory, commit (schemas/dataset.py). Used by `claimwire run`, each `--follow` cycle and the benchmarks."""
from __future__ import annotations

import os
import time

import apache_beam as beam

from claimcore.attribution_model import resolve_attribution_dir
from claimcore.components import stamps
from claimcore.embedder import resolve_embedding_model
from claimcore.ner_model import resolve_model_dir
from pipeline.assembly import build_pipeline
from schemas import dataset
from transforms.stories import rebuild_story_tables


def prepare(output: str) -> None:
    """Under the writer lock, before a run reads the output: roll a half-done commit forward, drop stale staging."""
    dataset.recover(output, rebuild_story_tables)


def run_staged(options, opts, **build_kwargs):
    """Runs the batch pipeline into a fresh staging directory of opts.output; returns (the Beam result, the
    staging directory). Nothing is left behind when the pipeline raises."""
    staging = dataset.staging_dir(opts.output)
    try:
        p = beam.Pipeline(options=options)
        build_pipeline(p, opts, write_root=staging, **build_kwargs)
        result = p.run()
        result.wait_until_finish()
    except BaseException:
        dataset.remove_tree(staging)
        raise
    return result, staging


def commit_staged(opts, staging: str, shard: str | None = None, inputs: list[str] | None = None) -> dict:
    """Commits a staged run into opts.output (`shard`: the key of the input shard it ran, pipeline/shards.py;
    `inputs`: what it read, by default the command's inputs); returns the journal, with the commit's seconds."""
    started = time.perf_counter()
    if inputs is None:
        inputs = list(opts.input or []) + list(opts.feeds or []) + list(opts.site or [])
    journal = dataset.commit(opts.output, staging, rebuild_story_tables, inputs=inputs,
                             components=run_components(opts), shard=shard)
    journal["commit_seconds"] = time.perf_counter() - started
    return journal


def run_components(opts) -> dict[str, str]:
    """The versioned components (claimcore/components.py) whose output a run's rows hold, by stamp; a model
    component also names the model folder it ran."""
    ran = ["extractor", "language"]
    models = {}
    if not opts.no_ner:
        ran.append("ner")
        models["ner"] = resolve_model_dir(opts.ner_model)
        # no head for this encoder (a hub NER model): the claims take the cue rules' claimants, no attribution ran
        head = resolve_attribution_dir(opts.attribution_model, models["ner"]) \
            if (opts.attribution_model or "").lower() != "none" else None
        if head is not None:
            ran.append("attribution")
            models["attribution"] = head
    if not opts.no_dedup:
        ran += ["embedder", "stories"]
        models["embedder"] = resolve_embedding_model(opts.embedding_model)
    if not opts.no_claims:
        ran += ["figures", "claims"]
    return {name: stamp + (f" ({os.path.basename(os.path.normpath(models[name]))})" if models.get(name) else "")
            for name, stamp in stamps(ran).items()}


def run_batch(options, opts, **build_kwargs):
    """run_staged, then commit_staged; the caller holds dataset.writer_lock(opts.output). Returns (the Beam
    result, the commit journal). Nothing is committed when the pipeline raises."""
    result, staging = run_staged(options, opts, **build_kwargs)
    return result, commit_staged(opts, staging)

"""Beam's DaskRunner (2.77) with the fixes claimwire's batch pipeline needs.

Upstream, in apache_beam/runners/dask/dask_runner.py:
1. A multi-output ParDo (`.with_outputs(...)`) becomes one Dask bag holding every output, and each consumer of
   any of its PCollections receives all of them: the error rows would reach the articles writer and the other
   way round. Here a consumer of a tagged PCollection gets only the values of its tag.
2. Output from finish_bundle is dropped, so RunInference loses each partition's last batch and Beam's file
   sinks write empty files. Here finish_bundle's outputs are kept.
3. beam.io.Read (ReadFromParquet: the story index of earlier runs) is translated to nothing, so its consumers
   fail. Here each split of the source becomes a partition.
4. Only the last translated bag is computed, so every other sink branch (errors, stories, claims...) is silently
   skipped. Here every leaf bag (a transform no one consumes) is computed, reduced to a count per partition so
   that nothing large travels back to the client.
5. A side input is read by iterating its Dask bag inside each task that uses it, which computes the side input's
   whole upstream graph again, in that task, once per partition (the pipeline ran many times over). Here the
   side input is one node of the graph, computed once and handed to each partition as a list.
6. Flatten concatenates its inputs' partitions and GroupByKey keeps its input's count, so every CoGroupByKey
   (a Flatten, then a GroupByKey) adds partitions for good, and a task shuffle costs partitions squared: story
   dedup's rounds of connected components ran 245,000 tasks for 14 articles (48 s). Here a GroupByKey's input is
   first brought down to at most the job's partition count (--dask_npartitions, else 2 per worker) by
   concatenating neighbouring partitions.
Without --dask_npartitions/--dask_partition_size, the first stage is split into 2 partitions per worker.
(claimwire's WriteTable writes in process() after a GroupByKey anyway, so it never depended on finish_bundle.)
Metrics are not collected by the DaskRunner; the summary then reads the Parquet only.

Use it with `claimwire run --runner dask --dask-address HOST:PORT` (the CLI maps both to Beam's names).
"""
from __future__ import annotations

import collections
import dataclasses

from apache_beam import pvalue
from apache_beam.pipeline import PipelineVisitor
from apache_beam.runners.dask import dask_runner as upstream
from apache_beam.runners.dask import transform_evaluator as evaluator
from apache_beam.runners.dask.transform_evaluator import TRANSLATIONS, DaskBagWindowedIterator, Flatten, NoOp
from apache_beam.transforms.sideinputs import SideInputMap


def _only_tag(bag, tag):
    """The values of one output of a multi-output ParDo's bag (tag None: its main output)."""
    from apache_beam.pvalue import TaggedOutput
    if tag is None:
        return bag.filter(lambda v: not isinstance(v, TaggedOutput))
    return bag.filter(lambda v: isinstance(v, TaggedOutput) and v.tag == tag)


def _concat_partitions(*partitions) -> list:
    return [x for part in partitions for x in part]


def _run_bundle_with_side_inputs(items, invoker_args, invoker_kwargs, receivers, specs, *side_values):
    """_run_bundle_keeping_tags with side inputs rebuilt from their computed values (see fix 5)."""
    invoker_kwargs = dict(invoker_kwargs, side_inputs=[
        SideInputMap(view_class, view_options, [evaluator.get_windowed_value(v, window_fn) for v in values])
        for (view_class, view_options, window_fn), values in zip(specs, side_values)])
    return _run_bundle_keeping_tags(items, invoker_args, invoker_kwargs, receivers)


def _run_bundle_keeping_tags(items, invoker_args, invoker_kwargs, receivers):
    """One Dask partition through a DoFn. Upstream's apply_dofn_to_bundle returns `v.value` for every output,
    which unwraps TaggedOutput and loses the tag (fixed here: _only_tag routes each output to its consumers), and
    takes the outputs before finish_bundle runs, which drops what finish_bundle emits: BatchElements' last
    partial batch (RunInference) and the built-in file sinks. Here finish_bundle's outputs are kept."""
    from apache_beam.pvalue import TaggedOutput
    from apache_beam.runners.common import DoFnInvoker
    invoker = DoFnInvoker.create_invoker(*invoker_args, **invoker_kwargs)
    invoker.invoke_setup()
    invoker.invoke_start_bundle()
    for item in items:
        invoker.invoke_process(item)
    invoker.invoke_finish_bundle()  # collected below with the rest, unlike upstream (which drops them)
    invoker.invoke_teardown()
    return [TaggedOutput(v.tag, v.value) if isinstance(v, TaggedOutput) else v.value for v in receivers.values]


class TagKeepingParDo(evaluator.ParDo):
    def apply(self, input_bag, side_inputs=None):
        from apache_beam import DoFn
        from apache_beam.runners.common import DoFnContext, DoFnSignature, _OutputHandler
        transform = self.transform
        args, kwargs = transform.raw_side_inputs
        main_input = next(iter(self.applied.main_inputs.values()))
        window_fn = main_input.windowing.windowfn if hasattr(main_input, "windowing") else None
        receivers = evaluator.OneReceiver()
        invoker_args = [
            DoFnSignature(transform.fn),
            _OutputHandler(window_fn=window_fn, main_receivers=receivers[None], tagged_receivers=receivers,
                           per_element_output_counter=None, output_batch_converter=None,
                           process_yields_batches=False, process_batch_yields_elements=False),
        ]
        invoker_kwargs = dict(context=DoFnContext(transform.label, state=None), side_inputs=None,
                              input_args=list(args), input_kwargs=kwargs, user_state_context=None,
                              bundle_finalizer_param=DoFn.BundleFinalizerParam())
        windowed = input_bag.map(evaluator.get_windowed_value, window_fn)
        if not side_inputs:
            return windowed.map_partitions(_run_bundle_keeping_tags, invoker_args, invoker_kwargs, receivers)
        import dask
        specs = [(type(si), si._view_options(), si._window_mapping_fn) for si, _ in side_inputs]
        # the side input's own keys (not an optimized copy of its graph), so its upstream runs once
        values = [dask.delayed(_concat_partitions)(*bag.to_delayed(optimize_graph=False)) for _, bag in side_inputs]
        return windowed.map_partitions(_run_bundle_with_side_inputs, invoker_args, invoker_kwargs, receivers, specs,
                                       *values)


def _read_splits(splits) -> list:
    out = []
    for split in splits:
        out.extend(split.source.read(split.source.get_range_tracker(split.start_position, split.stop_position)))
    return out


class ReadBoundedSource(evaluator.DaskBagOp):
    """beam.io.Read of a bounded source (ReadFromParquet, ReadFromText...): upstream translates it to nothing, so
    its consumers get no input. Here each split of the source is a partition, read on a worker."""

    def apply(self, input_bag, side_inputs=None):
        import dask.bag as db
        splits = list(self.transform.source.split(desired_bundle_size=64 << 20))
        return db.from_sequence(splits, npartitions=max(1, len(splits))).map_partitions(_read_splits)


class PartitionCappedGroupByKey(evaluator.GroupByKey):
    """Beam's Dask GroupByKey on an input of at most the job's partition count (fix 6): the shuffle's output keeps
    its input's count, so that is what it has."""

    def apply(self, input_bag, side_inputs=None):
        partitions = self.bag_kwargs.get("npartitions")
        if partitions and input_bag.npartitions > partitions:
            input_bag = input_bag.repartition(partitions)  # neighbouring partitions concatenated, no shuffle
        return super().apply(input_bag, side_inputs)


def _translation(node):
    from apache_beam.runners.dask.overrides import _Read
    if isinstance(node.transform, _Read):
        return ReadBoundedSource
    op = TRANSLATIONS.get(node.transform.__class__, NoOp)
    if op is evaluator.GroupByKey:
        return PartitionCappedGroupByKey
    return TagKeepingParDo if op is evaluator.ParDo else op


def _is_multi_output(applied) -> bool:
    return len(applied.outputs) > 1


def _count_partition(values) -> list[int]:
    return [sum(1 for _ in values)]


class DaskRunnerResult(upstream.DaskRunnerResult):
    def wait_until_finish(self, duration=None):
        try:
            return super().wait_until_finish(duration)
        finally:
            self.client.close()  # else the client keeps reconnecting to a cluster its caller may shut down


class DaskRunner(upstream.DaskRunner):
    """Executes a batch pipeline on a dask.distributed cluster (see the module docstring for the fixes)."""

    @staticmethod
    def to_dask_bag_visitor(bag_kwargs=None):
        bag_kwargs = bag_kwargs or {}

        @dataclasses.dataclass
        class TagAwareBagVisitor(PipelineVisitor):
            bags: dict = dataclasses.field(default_factory=collections.OrderedDict)
            consumed: set = dataclasses.field(default_factory=set)

            def _bag_of(self, pcoll):
                producer = pcoll.producer
                if producer not in self.bags:
                    return None
                self.consumed.add(producer)
                bag = self.bags[producer]
                if _is_multi_output(producer):
                    bag = _only_tag(bag, pcoll.tag)
                return bag

            def visit_transform(self, node) -> None:
                op = _translation(node)(node, bag_kwargs=bag_kwargs)
                kwargs = {"input_bag": None, "side_inputs": None}
                inputs = list(node.inputs)
                if inputs:
                    bags = []
                    for value in inputs:
                        if isinstance(value, pvalue.PBegin):
                            bags.append(None)
                            continue
                        bag = self._bag_of(value)
                        if bag is None:
                            raise NotImplementedError(
                                f"{node.full_label}: the DaskRunner cannot run {value.producer.full_label}")
                        bags.append(bag)
                    kwargs["input_bag"] = bags[0] if len(bags) == 1 and not isinstance(op, Flatten) else bags
                if node.side_inputs and isinstance(op, TagKeepingParDo):
                    kwargs["side_inputs"] = [(si, self._bag_of(si.pvalue)) for si in node.side_inputs]
                elif node.side_inputs:
                    kwargs["side_inputs"] = [
                        SideInputMap(type(si), si._view_options(),
                                     DaskBagWindowedIterator(self._bag_of(si.pvalue), si._window_mapping_fn))
                        for si in node.side_inputs]
                self.bags[node] = op.apply(**kwargs)

            def leaves(self):
                return [bag for node, bag in self.bags.items() if node not in self.consumed]

        return TagAwareBagVisitor()

    def run_pipeline(self, pipeline, options):
        import dask.distributed as ddist

        dask_options = options.view_as(upstream.DaskOptions).get_all_options(drop_default=True, current_only=True)
        bag_kwargs = upstream.DaskOptions._extract_bag_kwargs(dask_options)
        client = ddist.Client(**dask_options)
        if not bag_kwargs:
            # Upstream puts up to 128 created elements (feeds, input files) in one partition, and the partitions
            # of the first stage carry through the shuffles: the whole job would run on one worker.
            workers = len(client.scheduler_info().get("workers", {})) or 1
            bag_kwargs = {"npartitions": 2 * workers}
        pipeline.replace_all(upstream.dask_overrides())
        visitor = self.to_dask_bag_visitor(bag_kwargs)
        pipeline.visit(visitor)
        leaves = [bag.map_partitions(_count_partition) for bag in visitor.leaves()]
        futures = client.compute(leaves)  # one graph: stages shared by several sinks run once
        return DaskRunnerResult(client, futures)

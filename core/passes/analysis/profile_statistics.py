"""profile_statistics_analysis_pass: statistics of weights and of node inputs over sample batches.

pass_args as MASE's: ``by`` ("type": match mase_op, "name": match node names),
``target_weight_nodes``, ``target_activation_nodes``, ``weight_statistics``,
``activation_statistics`` ({stat name: options}), ``input_generator`` (an iterator of dicts
keyed by placeholder name, with a ``batch_size``), ``num_samples``; ``profile_output_activation``
is accepted and ignored, as in MASE. Extra: ``progress(done_samples, total_samples)`` is called
after every batch and ``cancel`` (a threading.Event) stops the run with PassError("cancelled").

Weight targets (call_module nodes) get a collector on every parameter and buffer; activation
targets on every input not already collected as a weight. Results replace
``software.args.<entry>.stat`` and are returned in ``info``. Differences from MASE: statistics
are updated a batch at a time through taps compiled into a copy of the graph (no Python
interpreter per node), exactly ``num_samples`` samples are used (the last batch is cut), the
graph runs in eval mode under no_grad (so BatchNorm statistics are not updated by profiling).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import gc
import logging
import threading
import weakref
from typing import Any, Callable, Iterable

import torch
import torch.fx as fx

from core.errors import ConfigError, PassError
from core.passes.analysis.stat_options import REPLAY_BUDGET_MB, check_replay_budget
from core.passes.analysis.stats import Stat, merged_export, plain_view, stat_factory
from core.passes.schema import Arg, mase_pass

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------- input taps
def tap_inputs(gm: fx.GraphModule, sinks: dict[str, Callable[..., None]],
               call_args: bool = False) -> fx.GraphModule:
    """A GraphModule sharing ``gm``'s modules that, right before each node named in ``sinks``
    runs, calls ``sinks[name](*inputs)`` with the node's ``all_input_nodes`` values in order,
    or, with ``call_args``, ``sinks[name](*args, **kwargs)`` with the node's own arguments.
    The calls are compiled into the graph's code, so there is no interpreter overhead."""
    graph = fx.Graph()
    env: dict[fx.Node, fx.Node] = {}
    out = graph.graph_copy(gm.graph, env)
    graph.output(out)
    for old, new in env.items():
        sink = sinks.get(old.name)
        if sink is None:
            continue
        with graph.inserting_before(new):
            if call_args:
                graph.call_function(sink, tuple(new.args), dict(new.kwargs))
            else:
                graph.call_function(sink, tuple(new.all_input_nodes))
    return fx.GraphModule(gm, graph, type(gm).__name__)


class _TapCache:
    """Tapped copies of graphs, reused by later runs on the same graph. Copying and compiling a
    graph costs about 20 ms for a 400-node transformer and 2 ms for jsc-toy, a third of the
    transformer's 64 forwards and 5x jsc-toy's 32. A copy taps fixed slots; each run plugs its
    own sinks into them and unplugs them at the end (so no statistics outlive their run).
    A copy is reused only while the graph is unchanged: same graph object, same generated code,
    same module and attribute objects behind every call_module / get_attr node (a transform
    that swaps a module or a parameter gets a fresh copy), and never by two runs at once."""

    def __init__(self) -> None:
        self.entries: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self.lock = threading.Lock()

    @staticmethod
    def _fingerprint(gm: fx.GraphModule, names: frozenset[str]) -> tuple:
        objects = []
        for node in gm.graph.nodes:
            if node.op in ("call_module", "get_attr"):
                target: Any = gm
                for part in str(node.target).split("."):
                    target = getattr(target, part, None)
                objects.append(id(target))
        return id(gm.graph), gm.code, names, tuple(objects)

    @contextlib.contextmanager
    def tapped(self, gm: fx.GraphModule, sinks: dict[str, Callable[..., None]]):
        """A tapped copy of ``gm`` calling ``sinks`` (as :func:`tap_inputs`) for this run."""
        key = self._fingerprint(gm, frozenset(sinks))
        with self.lock:
            entry = self.entries.get(gm)
            reuse = entry is not None and entry[0] == key and not entry[3]
            if reuse:
                entry[3] = True
        if not reuse:
            slots = {name: _slot() for name in sinks}
            module = tap_inputs(gm, {name: tap for name, (tap, _) in slots.items()})
            entry = [key, module, {name: box for name, (_, box) in slots.items()}, True]
            with self.lock:
                current = self.entries.get(gm)
                if current is None or not current[3]:
                    self.entries[gm] = entry
        boxes = entry[2]
        for name, sink in sinks.items():
            boxes[name][0] = sink
        try:
            yield entry[1]
        finally:
            for box in boxes.values():
                box[0] = None
            with self.lock:
                entry[3] = False


def _slot() -> tuple[Callable[..., None], list]:
    box: list = [None]

    def profile_tap(*values):
        sink = box[0]
        if sink is not None:
            sink(*values)

    return profile_tap, box


_TAPS = _TapCache()


def placeholders(gm: fx.GraphModule) -> list[str]:
    return [n.target for n in gm.graph.nodes if n.op == "placeholder"]


def batch_kwargs(batch: Any, names: list[str]) -> dict[str, Any]:
    """Map a generator's batch onto the placeholders (by name, else by position)."""
    if isinstance(batch, torch.Tensor) and len(names) == 1:
        return {names[0]: batch}
    if isinstance(batch, dict):
        if all(n in batch for n in names):
            return {n: batch[n] for n in names}
        if len(batch) == len(names):
            return dict(zip(names, batch.values(), strict=True))
        raise PassError(f"input batch has keys {list(batch)} but the graph's inputs are {names}",
                        hint="the input generator must yield dicts keyed by placeholder name")
    if isinstance(batch, (list, tuple)) and len(batch) == len(names):
        return dict(zip(names, batch, strict=True))
    raise PassError(f"input generator yielded a {type(batch).__name__}, not a dict of inputs")


def batch_length(kwargs: dict[str, Any]) -> int:
    for v in kwargs.values():
        if isinstance(v, torch.Tensor) and v.ndim > 0:
            return int(v.shape[0])
    raise PassError("cannot tell the batch size: no input tensor has a batch dimension")


def cut_batch(kwargs: dict[str, Any], n: int, take: int) -> dict[str, Any]:
    return {k: v[:take] if isinstance(v, torch.Tensor) and v.ndim > 0 and v.shape[0] == n else v
            for k, v in kwargs.items()}


def draw_samples(generator, num_samples: int, names: list[str],
                 cancel=None) -> Iterable[tuple[dict[str, Any], int]]:
    """Yield (inputs, samples so far) until ``num_samples`` samples, cutting the last batch."""
    if not hasattr(generator, "__next__"):
        generator = iter(generator)  # a list of batches, a DataLoader-like iterable
    done = 0
    while done < num_samples:
        if cancel is not None and cancel.is_set():
            raise PassError("cancelled")
        try:
            batch = next(generator)
        except StopIteration:
            logger.warning("input generator ran out after %d of %d samples", done, num_samples)
            return
        kwargs = batch_kwargs(batch, names)
        n = batch_length(kwargs)
        if n == 0:
            continue
        take = min(n, num_samples - done)
        if take < n:
            kwargs = cut_batch(kwargs, n, take)
        done += take
        yield kwargs, done


# --------------------------------------------------------------------------- the pass
def _targets(value: Any, key: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ConfigError(f"profile_statistics: {key} must be a list of op or node names, got {value!r}")


def _node_key(node: fx.Node, by: str) -> str | None:
    if by == "name":
        return node.name
    meta = node.meta.get("mase")
    return (meta.parameters.get("common", {}) if meta is not None else {}).get("mase_op")


def _software_args(node: fx.Node) -> dict[str, Any]:
    meta = node.meta.get("mase")
    software = meta.parameters.get("software") if meta is not None else None
    if not software:
        raise PassError(f"node '{node.name}' has no software metadata",
                        hint="run add_software_metadata_analysis_pass before profile_statistics")
    return software.get("args", {})


def _weight_tensors(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    named = dict(module.named_parameters())
    named.update(dict(module.named_buffers()))
    return named


def _weight_tensor(named: dict[str, torch.Tensor], entry: str) -> torch.Tensor | None:
    if entry in named:
        return named[entry]
    for name, value in named.items():
        if name.replace(".", "_") == entry:
            return value
    return None


def _constant_operands(node: fx.Node) -> dict[str, str]:
    """Metadata entry -> attribute path of a function call's parameter/buffer operands. The
    software args list the node's tensor inputs in order (data_in_0, weight, bias, ...)."""
    entries = list(_software_args(node))
    return {entries[i]: source.target for i, source in enumerate(node.all_input_nodes)
            if i < len(entries) and "data_in" not in entries[i] and source.op == "get_attr"}


def _attr(root: torch.nn.Module, path: str) -> torch.Tensor | None:
    value: Any = root
    for part in path.split("."):
        value = getattr(value, part, None)
    return value if isinstance(value, torch.Tensor) else None


def _parse_args(pass_args: Any) -> dict[str, Any]:
    if pass_args is not None and not isinstance(pass_args, dict):
        raise ConfigError(f"profile_statistics: pass_args must be a dict, got {type(pass_args).__name__}")
    args = dict(pass_args or {})
    by = args.get("by", "type")
    if by not in ("type", "name"):
        raise ConfigError(f"profile_statistics: unsupported by '{by}'", hint="use by = \"type\" (mase op) or \"name\" (node name)")
    num = args.get("num_samples", 32)
    if isinstance(num, bool) or not isinstance(num, int) or num < 1:
        raise ConfigError(f"profile_statistics: num_samples must be a positive integer, got {num!r}")
    budget = args.get("replay_budget_mb", REPLAY_BUDGET_MB)
    check_replay_budget(budget)
    return {**args, "by": by, "num_samples": num, "replay_budget_mb": budget,
            "target_weight_nodes": _targets(args.get("target_weight_nodes"), "target_weight_nodes"),
            "target_activation_nodes": _targets(args.get("target_activation_nodes"), "target_activation_nodes")}


@mase_pass(
    "profile_statistics_analysis_pass",
    kind="analysis",
    doc="Weight and activation statistics over sample batches",
    args=[
        Arg("by", "str", "type", "match targets on mase op (type) or node name (name)", choices=("type", "name")),
        Arg("target_weight_nodes", "list|str", ["linear"], "ops or names whose weights are profiled"),
        Arg("target_activation_nodes", "list|str", ["relu"], "ops or names whose inputs are profiled"),
        Arg("weight_statistics", "table", {"variance_precise": {"device": "cpu", "dims": "all"}},
            "statistic name -> options, for weights"),
        Arg("activation_statistics", "table",
            {"range_quantile": {"device": "cpu", "dims": "all", "quantile": 0.97}},
            "statistic name -> options, for activations"),
        Arg("num_samples", "int", 32, "number of samples to profile"),
        Arg("replay_budget_mb", "float", 256,
            "MB of input batches kept so that range_quantile may guess its thresholds from the first "
            "batch and run the batches again if a guess fails; 0 never guesses (one run, safe thresholds)"),
        Arg("profile_output_activation", "bool", False, "accepted and ignored, as in MASE"),
        Arg("input_generator", "object", None, "batches of model inputs", supplied="input_generator"),
    ],
    writes_metadata=True,
    renderer="profile_statistics",
    config_check="core.passes.analysis.stat_options:check_profile_args",
)
def profile_statistics_analysis_pass(graph, pass_args: dict[str, Any] | None = None):
    """Profile weights and node inputs; returns ``(graph, info)`` with the statistics."""
    with _gc_paused():
        return _profile(graph, pass_args)


@contextlib.contextmanager
def _gc_paused():
    """Python's cyclic collector paused while the pass runs. The pass allocates thousands of
    small objects (the tapped graph, tensors), and a full collection of a large heap in the
    middle costs 0.1-0.4 s, more than the statistics. Reference counting still frees what the
    pass drops; only cycles wait until it ends."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _profile(graph, pass_args: dict[str, Any] | None):
    args = _parse_args(pass_args)
    by, progress, cancel = args["by"], args.get("progress"), args.get("cancel")
    w_spec, a_spec = args.get("weight_statistics") or {}, args.get("activation_statistics") or {}
    new_w = stat_factory(w_spec, "weight_statistics")  # names and options checked before any work
    new_a = stat_factory(a_spec, "activation_statistics")
    nodes = list(graph.fx_graph.nodes)
    by_name = {n.name: n for n in nodes}
    keys = {n: _node_key(n, by) for n in nodes}
    warnings: list[str] = []

    def select(targets: list[str], kind: str) -> list[fx.Node]:
        if by == "type" and targets and all(k is None for k in keys.values()):
            raise PassError("profile_statistics by type needs mase ops",
                            hint="run add_common_metadata_analysis_pass first")
        for target in targets:
            if not any(k == target for k in keys.values()):
                warnings.append(f"{kind} target '{target}' matches no node (by {by})")
        return [n for n in nodes if keys[n] in targets]

    w_nodes = select(args["target_weight_nodes"], "weight")
    a_nodes = select(args["target_activation_nodes"], "activation")
    weight: dict[tuple[str, str], list[Stat]] = {}
    act: dict[str, list[tuple[str | None, list[Stat]]]] = {}
    weight_tensors: dict[tuple[str, str], torch.Tensor | None] = {}
    if w_spec:
        for node in w_nodes:
            if node.op == "call_module":
                module = graph.model.get_submodule(node.target)
                named = _weight_tensors(module)
                found = {e: _weight_tensor(named, e) for e in _software_args(node) if "data_in" not in e}
            else:  # a function call (functional layer, torch.export graph): its constant operands
                found = {e: _attr(graph.model, t) for e, t in _constant_operands(node).items()}
                if not found:
                    warnings.append(f"weight target '{node.name}' has no parameter or buffer operands")
            for entry, tensor in found.items():
                weight[(node.name, entry)] = new_w()
                weight_tensors[(node.name, entry)] = tensor
    if a_spec:
        for node in a_nodes:
            entries = list(_software_args(node))
            slots = []
            for i, source in enumerate(node.all_input_nodes):
                entry = entries[i] if i < len(entries) else f"data_in_{i}"
                # constants (parameters, buffers) are weights: profiled once as weight targets,
                # not batch after batch as activations
                skip = (node.name, entry) in weight or source.op == "get_attr"
                slots.append((None if skip else entry, [] if skip else new_a()))
            if any(e is not None for e, _ in slots):
                act[node.name] = slots
    if not weight and not act:
        for w in warnings:
            logger.warning("profile_statistics: %s", w)
        raise PassError("profile_statistics: nothing to profile",
                        hint="check target_weight_nodes / target_activation_nodes, 'by' and the statistics tables; "
                             + "; ".join(warnings))

    with torch.no_grad():
        for (name, entry), stats in weight.items():
            if cancel is not None and cancel.is_set():
                raise PassError("cancelled")
            tensor = weight_tensors[(name, entry)]
            if tensor is None:
                warnings.append(f"node '{name}' has no parameter or buffer '{entry}'")
                continue
            for stat in stats:
                stat.expect(1)  # a weight is one sample, seen once
                stat.update(tensor, batched=False)

    samples = batches = replayed = 0
    if act:
        generator = args.get("input_generator")
        if generator is None:
            raise PassError("profile_statistics needs an input_generator for activation statistics",
                            hint="pass input_generator=... (the CLI and the app build one from the dataset)")
        samples, batches, replayed = _profile_activations(graph, act, generator, args["num_samples"], progress,
                                                          cancel, args["replay_budget_mb"] * 2 ** 20)

    keyed = list(weight.items())
    keyed += [((name, entry), stats) for name, slots in act.items() for entry, stats in slots if entry is not None]
    results: dict[str, dict[str, Any]] = {}
    for ((name, entry), _), exported in zip(keyed, _exports([stats for _, stats in keyed]), strict=True):
        results.setdefault(name, {})[entry] = exported
    for name, entries in results.items():
        sw_args = by_name[name].meta["mase"].parameters["software"].setdefault("args", {})
        for entry, stat in entries.items():
            sw_args.setdefault(entry, {})["stat"] = stat
    for w in warnings:
        logger.warning("profile_statistics: %s", w)
    info = {"by": by, "num_samples": samples, "num_batches": batches, "replayed_statistics": replayed,
            "weight_nodes": sorted({n for n, _ in weight}), "activation_nodes": list(act),
            "stats": {name: {entry: plain_view(stat) for entry, stat in entries.items()}
                      for name, entries in results.items()},
            "warnings": warnings}
    return graph, info


PARALLEL_EXPORT = 1 << 20  # values kept in all from which the final selections get threads


def _exports(groups: list[list[Stat]]) -> list[dict[str, Any]]:
    """Each group's merged export, in order. The final selections of range_quantile (numpy
    partitions of the kept tails, which release the GIL) run on torch's intra-op thread count
    when they are large: nothing else runs at the end of the pass, and on a 224x224 ResNet they
    took 26 ms on one core with the other idle. Groups are independent (statistics share work
    only within one input's group)."""
    threads = min(torch.get_num_threads(), len(groups))
    kept = [sum(stat.kept_values() for stat in group) for group in groups]
    if threads < 2 or sum(kept) < PARALLEL_EXPORT:
        return [merged_export(group) for group in groups]
    with concurrent.futures.ThreadPoolExecutor(threads, thread_name_prefix="profile-export") as pool:
        # largest first, so the threads finish together
        futures = {i: pool.submit(merged_export, groups[i]) for i in sorted(range(len(groups)), key=lambda i: -kept[i])}
        return [futures[i].result() for i in range(len(groups))]


class _Run:
    """What the collectors need to know about the run: the samples it will draw and the size of
    the batch being run (set by the pass before each forward)."""

    def __init__(self, num_samples: int) -> None:
        self.num_samples = num_samples
        self.batch = 0
        self.replayable = False  # the inputs are kept, so statistics may guess (Stat.expect)


class _Replay:
    """The run's input batches, kept so that the forwards can be run again for statistics whose
    guess failed (range_quantile's optimistic tail thresholds). Copies: a generator may refill
    one tensor for every batch (the copy costs a fraction of a forward: inputs are small next
    to the activations they make). Only when all of them fit in ``budget`` bytes (the pass's
    ``replay_budget_mb``), judged from the first batch; otherwise nothing is kept and no
    statistic guesses."""

    def __init__(self, budget: float) -> None:
        self.budget = budget
        self.batches: list[tuple[dict[str, Any], int]] = []

    def fits(self, kwargs: dict[str, Any], rows: int, num_samples: int) -> bool:
        size = sum(v.nelement() * v.element_size() for v in kwargs.values() if isinstance(v, torch.Tensor))
        return size * -(-num_samples // max(rows, 1)) <= self.budget

    def keep(self, kwargs: dict[str, Any], rows: int) -> None:
        self.batches.append(({k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in kwargs.items()}, rows))


class _Collector:
    """The statistics of one (node, input) pair. Inputs of at least LARGE values go straight to
    the statistics (no copy: they reduce them at once, and those that keep values copy what
    they keep). Smaller ones are copied (an in-place op may change the input after the tap)
    into a buffer of at most FLUSH_ELEMENTS values, allocated once, and handed over a full
    buffer at a time, so the fixed cost of each torch op (a few microseconds) is paid once per
    chunk, not once per node per batch. Buffering larger inputs costs more than it saves: the
    copy, and page faults on the fresh memory of a buffer per input (a transformer's 49 linear
    inputs x 512 KB made copying slower than the statistics)."""

    FLUSH_ELEMENTS = 1 << 16
    LARGE = 1 << 12

    def __init__(self, stats: list[Stat], run: _Run) -> None:
        self.stats = stats
        self.active = stats  # those fed: all of them, but only the replayed ones in a replay
        self.run = run
        self.bound: int | None = None  # most rows that will arrive
        self.buffer: torch.Tensor | None = None
        self.row_shape: torch.Size | None = None
        self.filled = 0

    def _announce(self, value: torch.Tensor) -> None:
        """Tell the statistics how many rows (MASE's samples: entries of dim 0) will arrive at
        most. Dim 0 is the batch for most inputs: then exactly num_samples, whatever the batch
        sizes. Otherwise (heads folded into dim 0, a constant operand) assume rows per sample or
        rows per batch stay as in this first batch; a run that breaks that is an error, never a
        silently wrong quantile."""
        rows, batch, total = int(value.shape[0]), self.run.batch, self.run.num_samples
        if rows == batch or batch <= 0:
            self.bound = total
        else:
            self.bound = max(-(-rows * total // batch), rows * -(-total // batch))
        for stat in self.stats:
            stat.expect(self.bound, replayable=self.run.replayable)

    def add(self, value: torch.Tensor) -> None:
        """Called under no_grad, right before the node runs."""
        if self.bound is None:
            self._announce(value)
        if value.numel() >= self.LARGE:
            if self.filled:
                self.flush()
            for stat in self.active:
                stat.update(value, batched=True)
            return
        rows = value.shape[0]
        buf = self.buffer
        if buf is None or self.row_shape != value.shape[1:] or buf.dtype != value.dtype or buf.device != value.device:
            self.flush()
            per_row = max(1, value[:1].numel())
            size = max(rows, min(self.FLUSH_ELEMENTS // per_row, self.bound))
            buf = self.buffer = torch.empty((size, *value.shape[1:]), dtype=value.dtype, device=value.device)
            self.row_shape = value.shape[1:]
        elif self.filled + rows > buf.shape[0]:
            self.flush()
        buf[self.filled:self.filled + rows].copy_(value)
        self.filled += rows
        if self.filled == buf.shape[0]:
            self.flush()

    def flush(self) -> None:
        if not self.filled:
            return
        chunk = self.buffer[:self.filled]
        self.filled = 0
        for stat in self.active:
            stat.update(chunk, batched=True, owned=False)


def _input_sink(collectors: list[_Collector | None]) -> Callable[..., None]:
    slots = [(i, c) for i, c in enumerate(collectors) if c is not None]

    def profile_tap(*values):
        for i, collector in slots:
            if i < len(values):
                value = values[i]
                # integer inputs count too (as float32, like MASE); masks, complex numbers and
                # 0-d tensors (no samples to split) do not
                if (isinstance(value, torch.Tensor) and value.ndim and value.dtype != torch.bool
                        and not value.is_complex()):
                    collector.add(value)

    return profile_tap


def _profile_activations(graph, act, generator, num_samples: int, progress, cancel,
                         replay_budget: float) -> tuple[int, int, int]:
    """Run the forwards, feeding the collectors; returns (samples, batches, statistics replayed)."""
    run = _Run(num_samples)
    cols = {key: [None if entry is None else _Collector(stats, run) for entry, stats in slots]
            for key, slots in act.items()}
    collectors = [c for group in cols.values() for c in group if c is not None]
    model = graph.model
    names = placeholders(model)
    training = [m for m in model.modules() if m.training]  # usually none: graphs are traced in eval
    samples = batches = 0
    # the batches are kept only for statistics that may bet on a guess
    guessing = replay_budget > 0 and any(s.may_guess() for c in collectors for s in c.stats)
    replay: _Replay | None = _Replay(replay_budget) if guessing else None
    sinks = {key: _input_sink(group) for key, group in cols.items()}
    try:
        with torch.no_grad(), _TAPS.tapped(model, sinks) as tapped:
            for m in training:
                m.training = False
            tapped.training = False
            for kwargs, done in draw_samples(generator, num_samples, names, cancel):
                run.batch = done - samples
                if batches == 0 and replay is not None:
                    run.replayable = replay.fits(kwargs, run.batch, num_samples)
                    if not run.replayable:
                        replay = None
                if replay is not None:
                    replay.keep(kwargs, run.batch)
                tapped(**kwargs)
                samples, batches = done, batches + 1
                if progress is not None:
                    progress(done, num_samples)
            for collector in collectors:
                collector.flush()
            replayed = _replay_failed_guesses(tapped, collectors, replay, cancel, progress)
    finally:
        for module in training:
            module.training = True
    return samples, batches, replayed


def _replay_failed_guesses(tapped, collectors: list[_Collector], replay: _Replay | None, cancel, progress) -> int:
    """Feed the kept batches again to the statistics whose guess failed (a run whose later
    batches differ from the first one), now without guessing; returns how many there were.
    Progress starts again from 0: a second run over the same samples."""
    failed = {id(c): [s for s in c.stats if s.needs_replay()] for c in collectors}
    count = sum(len(v) for v in failed.values())
    if not count:
        return 0
    if replay is None:  # cannot happen: statistics guess only when the batches are kept
        raise PassError("profile_statistics: a statistic needs the batches again, but they were not kept")
    logger.info("profile_statistics: %d statistics guessed wrong; running the %d batches again for them",
                count, len(replay.batches))
    for collector in collectors:
        collector.active = failed[id(collector)]
        for stat in collector.active:
            stat.restart()
            stat.expect(collector.bound, replayable=False)
    total = sum(rows for _, rows in replay.batches)
    done = 0
    try:
        for kwargs, rows in replay.batches:
            if cancel is not None and cancel.is_set():
                raise PassError("cancelled")
            collectors[0].run.batch = rows
            tapped(**kwargs)
            done += rows
            if progress is not None:
                progress(done, total)
        for collector in collectors:
            collector.flush()
    finally:
        for collector in collectors:
            collector.active = collector.stats
    return count

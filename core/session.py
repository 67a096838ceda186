"""A Session: model + original graph + current graph + the history of passes run.

The CLI and the app both drive one. Constructing a Session is cheap (no torch import);
``load()`` does the heavy work and reports progress through a callback, so a front end can run
it in a worker.

Published graphs are immutable
------------------------------
``original`` and ``current`` are *published*: front ends read them from other threads (the
app's tree, details and cost worker) without a lock, so nothing mutates them in place.

- A pass's declaration (``core.passes.schema``) says whether it changes the graph
  (``changes_graph``: a transform, a load) or writes metadata (``writes_metadata``:
  ``profile_statistics`` adds statistics, the metadata passes rebuild ``common`` /
  ``software``). Such a pass, and every user pass, works on a private copy of ``current``
  (``MaseGraph.copy()``, which only reads its source); the Session publishes the result with
  one assignment to ``current`` (atomic for readers) when the pass finishes. A built-in pass
  declared read-only reads ``current`` itself and leaves it the same object (so caches keyed
  on it stay valid); the schema test holds built-in passes to their declarations.
- A user pass declared read-only that writes metadata anyway is caught by
  ``MetadataFingerprint`` (before and after, on its copy) and its copy is published, so
  nothing it wrote lands in a graph someone else is reading. Passes that need the original
  graph get ``original`` to read.
- A pass that fails or is cancelled leaves ``current`` untouched; the history records it.
- ``reset`` publishes a fresh copy of ``original``.
- Readers take ``graph = session.current`` once and use that object throughout: a later swap
  never changes the graph they hold.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from core.errors import MaseError, PassError
from core.ir.metadata import MetadataFingerprint
from core.passes.registry import NEEDS_INPUT_GENERATOR, get_pass

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]


@dataclass
class PassRun:
    name: str
    kind: str
    args: dict[str, Any]
    info: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    ok: bool = True
    error: str | None = None
    changed_graph: bool = False


def _user_frame(spec, exc: BaseException) -> str:
    """` at my_passes.py:17` for a user pass: the innermost traceback frame in the user's file."""
    if spec.builtin or not spec.file:
        return ""
    import os
    import traceback

    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__)
             if f.filename and os.path.abspath(f.filename) == os.path.abspath(spec.file)]
    return f" at {spec.shown_file}:{lines[-1]}" if lines else ""


class FullBatches:
    """A loader without its last, smaller batch: an exported graph runs only the batch size it
    was captured with."""

    def __init__(self, loader, batch_size: int) -> None:
        self.loader, self.batch_size = loader, batch_size

    def __len__(self) -> int:
        return len(self.loader) - (1 if self._ragged() else 0)

    def _ragged(self) -> bool:
        total = getattr(self.loader, "num_samples", None)
        return total is not None and total % self.batch_size != 0

    def __iter__(self):
        for inputs, labels in self.loader:
            if len(labels) == self.batch_size:
                yield inputs, labels


def _user_args(args: dict[str, Any] | None) -> dict[str, Any]:
    """A deep copy of what the user gave, minus runtime objects that are not data."""
    return copy.deepcopy(dict(args or {}))


class Session:
    def __init__(
        self,
        model_name: str = "jsc-toy",
        *,
        load: str | None = None,
        load_type: str | None = None,
        dataset: str | None = None,
        dataset_path: str | None = None,
        batch_size: int | None = None,
        seed: int = 0,
        trust_checkpoint: bool = False,
        pretrained: bool = True,
        device: str | None = None,
        num_workers: int = 0,
        custom_leaf_modules: tuple = (),
        tracer: str = "auto",
        seq_len: int | None = None,
        train_graph: bool = False,
        cf_args: dict[str, Any] | None = None,
    ) -> None:
        from core.models.registry import MODELS

        spec = MODELS.get(model_name)
        # batch_size / device None: the zoo entry's own (llama-7b: batch 1 on the meta device)
        batch_size = batch_size or (spec.batch_size if spec else None) or 8
        device = device or (spec.device if spec else None) or "cpu"
        if device not in ("cpu", "meta"):
            raise MaseError(f"unsupported device '{device}'", hint="use --device cpu or --device meta")
        if spec is not None and spec.device == "meta" and device != "meta":
            # random weights for 6.7B parameters are 27 GB in float32: the process would be killed
            raise MaseError(f"{model_name} is built on the meta device only (its weights would not fit in memory)",
                            hint="drop --device, or use --device meta")
        if tracer not in ("auto", "fx", "export"):
            raise MaseError(f"unknown tracer '{tracer}'", hint="use --tracer auto, fx or export")
        self.model_name = model_name
        self.load_name = load
        self.load_type = load_type
        self.dataset = dataset
        self.dataset_path = dataset_path
        self.batch_size = batch_size
        self.seed = seed
        self.trust_checkpoint = trust_checkpoint
        self.pretrained = pretrained
        self.device = device
        self.num_workers = num_workers
        self.custom_leaf_modules = custom_leaf_modules
        self.tracer = tracer
        self.seq_len = seq_len
        # Traced in eval mode unless asked (self.training branches freeze at trace time);
        # cf_args: forward arguments traced as constants besides the defaults (core/ir/concrete.py)
        self.train_graph = bool(train_graph)
        self.cf_args = dict(cf_args or {})
        self.concrete: dict[str, Any] = {}
        self.model = None
        self.original = None
        self.current = None
        self.datamodule = None
        self.dummy_in: dict[str, Any] | None = None
        self.history: list[PassRun] = []
        self.weights_source = "random init"
        self.loaded = False
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ loading
    def load(self, progress: Progress | None = None) -> "Session":
        say = progress or (lambda msg: logger.info("%s", msg))
        say("importing torch")
        import torch

        torch.manual_seed(self.seed)
        from core.ir import MaseGraph
        from core.models import get_model, get_model_spec, is_user_model_ref

        self._resolve_saved_graph_model()
        saved_only = self.load_type == "mz" and self.model_name == self.load_name
        spec = None if saved_only or is_user_model_ref(self.model_name) else get_model_spec(self.model_name)
        if self.load_name and not self.load_type:
            from core.checkpoint import infer_load_type

            self.load_type = infer_load_type(self.load_name)
        if self.load_type == "mz":
            say(f"loading saved graph {self.load_name}")
            from core.passes.interface.save_load import load_mase_graph

            graph = load_mase_graph(self.load_name, trust=self.trust_checkpoint)
            self.model = graph.model
            self.weights_source = f"saved graph {self.load_name}"
        else:
            say(f"building model {self.model_name}" + (" on the meta device" if self.on_meta else ""))
            self.model = self._build_model(get_model)
            self._load_weights(say)
            graph = None
        self._load_data(spec, say)
        say("tracing and adding metadata")
        if graph is None:
            from core.ir.concrete import concrete_arguments

            traced, literal = concrete_arguments(self.model, self.cf_args)
            self.concrete = {**traced, **literal}
            example = next(iter(self.input_generator("train", ("x",))))["x"]  # for torch.export
            graph = MaseGraph(self.model, cf_args=self.cf_args or None, custom_leaf_modules=self.custom_leaf_modules,
                              tracer=self.tracer, example_inputs=(example,), training=self.train_graph)
        elif not self.train_graph and hasattr(self.model, "eval"):
            self.model.eval()
        graph = self._annotate(graph, keep_metadata=self.load_type == "mz")
        self.original = graph
        self.current = graph.copy()
        self.history = []
        self.loaded = True
        say("ready")
        return self

    @property
    def exported(self) -> bool:
        """The graph was captured by torch.export (aten ops, static shapes)."""
        graph = self.original
        return graph is not None and getattr(graph, "capture", {}).get("tracer") == "export"

    def accuracy_problem(self) -> str | None:
        """Why accuracy cannot be measured on this session's graph (None when it can): a meta
        model has no weights; a graph whose output is not [batch, classes] is no classifier."""
        if self.on_meta:
            return "accuracy needs real weights, but the model is on the meta device (shapes only)"
        graph = self.original
        if graph is None:
            return None
        output = next((n for n in reversed(graph.fx_graph.nodes) if n.op == "output"), None)
        meta = output.meta.get("mase") if output is not None else None
        entry = (meta.parameters.get("common", {}).get("args", {}) if meta is not None else {}).get("data_in_0")
        shape = entry.get("shape") if isinstance(entry, dict) else None
        if isinstance(shape, list) and len(shape) != 2:
            return (f"accuracy needs class scores [batch, classes], but the graph returns {shape} "
                    f"(a language model's per-token logits?)")
        return None

    @property
    def on_meta(self) -> bool:
        """Built on the meta device: shapes only, no weights, no real forward pass."""
        return self.device == "meta"

    def _build_model(self, get_model):
        if not self.on_meta:
            return get_model(self.model_name)
        import torch

        with torch.device("meta"):  # parameters get shapes and dtypes but no memory
            return get_model(self.model_name)

    def _resolve_saved_graph_model(self) -> None:
        """`inspect DIR`: a saved graph directory given as the model. The transform that wrote it
        left its settings one level up (config.toml), which name the zoo model and data."""
        from pathlib import Path

        path = Path(self.model_name).expanduser()
        if not (path.is_dir() and (path / "manifest.json").is_file()):
            return
        self.load_name, self.load_type = str(path), "mz"
        settings = path.parent / "config.toml"
        model = None
        if settings.is_file():
            from core.config import load_config

            loaded = load_config(settings).settings
            model = loaded.get("model")
            self.dataset = self.dataset or loaded.get("dataset")
        if model is None and self.dataset is None:
            raise MaseError(f"{path} is a saved graph with no record of its model",
                            hint="give the zoo model and --load DIR --load-type mz, or --dataset NAME")
        self.model_name = model or self.model_name

    def _load_weights(self, say: Progress) -> None:
        if self.on_meta:
            if self.load_name:
                raise MaseError("a checkpoint cannot be loaded on the meta device (it holds no weights)",
                                hint="drop --device meta to load weights")
            self.weights_source = "none (meta device)"
            return
        if self.load_name:
            from core.checkpoint import load_model

            say(f"loading checkpoint {self.load_name}")
            self.model = load_model(self.load_name, self.load_type, self.model, trust=self.trust_checkpoint)
            self.weights_source = f"{self.load_name} ({self.load_type or 'auto'})"
            return
        if not self.pretrained:
            return
        try:
            from core.models.pretrained import pretrained_path
        except ImportError:
            return
        path = pretrained_path(self.model_name)
        if path is not None:
            from core.checkpoint import load_model

            say(f"loading shipped weights for {self.model_name}")
            self.model = load_model(str(path), "pl", self.model)
            self.weights_source = "shipped (trained on jsc-synthetic)"

    def _load_data(self, spec, say: Progress) -> None:
        dataset = self.dataset or (spec.dataset if spec else None)
        if dataset is None:
            raise MaseError(
                f"no dataset for user model {self.model_name}", hint="pass --dataset NAME (see `mase-tui datasets`)"
            )
        say(f"preparing data {dataset}")
        from core.data import get_datamodule
        from core.models.hf import config_inputs

        self.datamodule = get_datamodule(
            dataset,
            model_name=self.model_name,
            batch_size=self.batch_size,
            dataset_path=self.dataset_path,
            num_workers=self.num_workers,
            seed=self.seed,
            seq_len=self.seq_len,
            model_inputs=config_inputs(self.model),
        )

    def _annotate(self, graph, keep_metadata: bool = False):
        from core.passes import PASSES

        names = graph.placeholder_names()
        self.dummy_in = self.first_batch(names)
        if keep_metadata and all(n.meta.get("mase") is not None and n.meta["mase"].parameters.get("common")
                                 for n in graph.fx_graph.nodes):
            # A saved graph brings its own metadata, profiled statistics included; analysing it
            # afresh would drop them (quantised precisions alone would survive: the common pass
            # reads them from the quantised ops).
            if not all(n.meta["mase"].parameters.get("software") for n in graph.fx_graph.nodes):
                graph, _ = PASSES["add_software_metadata_analysis_pass"].fn(graph, None)
            return graph
        graph, _ = PASSES["init_metadata_analysis_pass"].fn(graph, None)
        # a meta-device model runs the dummy input as meta tensors too (shapes only)
        graph, _ = PASSES["add_common_metadata_analysis_pass"].fn(graph, {"dummy_in": self.dummy_in,
                                                                          "force_device_meta": self.on_meta})
        graph, _ = PASSES["add_software_metadata_analysis_pass"].fn(graph, None)
        return graph

    def first_batch(self, names) -> dict[str, Any]:
        gen = self.input_generator("train", names)
        return next(iter(gen))

    @property
    def trace_note(self) -> str:
        """How the graph was traced, for the Graph tab and `report`."""
        graph = self.current or self.original
        mode = graph.traced_mode if graph is not None else ("train" if self.train_graph else "eval")
        exported = graph is not None and graph.capture.get("tracer") == "export"
        verb = "exported (torch.export)" if exported else "traced"
        note = f"training graph (--train-graph), {verb}" if mode == "train" else f"{verb} in eval mode"
        if self.concrete and not exported:
            from core.concrete_args import describe_concrete

            shown = dict(list(self.concrete.items())[:4])
            more = len(self.concrete) - len(shown)
            note += f"; constant args {describe_concrete(shown)}" + (f" and {more} more" if more else "")
        return note

    # ------------------------------------------------------------------ data
    @property
    def data_label(self) -> str:
        if self.datamodule is None:
            return self.dataset or "-"
        return getattr(self.datamodule, "display_name", getattr(self.datamodule, "name", "?"))

    @property
    def synthetic(self) -> bool:
        return bool(getattr(self.datamodule, "synthetic", False))

    def input_generator(self, split: str = "train", names=None):
        if self.datamodule is None:
            raise PassError("this needs input data, but the session has no data set",
                            hint="give one with --dataset NAME (see `mase-tui datasets`)")
        from core.data import InputGenerator

        names = tuple(names or (self.current or self.original).placeholder_names())
        return InputGenerator(self.datamodule, split=split, placeholder_names=names, cycle=True)

    # ------------------------------------------------------------------ passes
    @property
    def is_transformed(self) -> bool:
        """A transform changed the graph since the load or the last reset."""
        transformed = False
        for run in self.history:
            if run.name == "reset" and run.kind == "session":
                transformed = False
            elif run.ok and run.changed_graph:
                transformed = True
        return transformed

    def complete_args(self, name: str, args: dict[str, Any] | None) -> dict[str, Any]:
        """The user's args plus what only the session can supply (MASE's CLI does the same)."""
        spec = get_pass(name)
        full = {**spec.defaults(), **_user_args(args)} if not spec.free_form else _user_args(args) or spec.defaults()
        for arg in spec.args:
            if arg.supplied and full.get(arg.name) is None:
                full[arg.name] = self._supply(arg.supplied)
        return full

    def _supply(self, what: str) -> Any:
        """What a pass's declaration says the session supplies (core.passes.schema.SUPPLIES)."""
        if what == "input_generator":
            return self.input_generator("train")
        if what == "original_graph":
            return self.original
        if what == "dummy_in":
            return self.dummy_in
        return self.trust_checkpoint  # "trust_checkpoint"

    def run_pass(
        self,
        name: str,
        args: dict[str, Any] | None = None,
        *,
        progress: Callable[..., None] | None = None,
        cancel: threading.Event | None = None,
    ) -> PassRun:
        """Run a registered pass on the current graph. A pass that writes runs on a copy that
        replaces the current graph only when the pass finishes, so a failure or cancel changes
        nothing (module docstring); the history records every run, failed ones included."""
        if not self.loaded:
            raise PassError("the session has no model yet", hint="call load() first")
        spec = get_pass(name)
        run = PassRun(name=spec.name, kind=spec.kind, args=_user_args(args))
        try:
            full = self.complete_args(spec.name, args)
        except MaseError as exc:  # e.g. a pass that needs data in a session without any
            run.ok, run.error = False, exc.one_line()
            self.history.append(run)
            logger.error("%s", run.error)
            return run
        if progress is not None:
            full.setdefault("progress", progress)
        if cancel is not None:
            full.setdefault("cancel", cancel)
        start = time.perf_counter()
        with self._lock:
            # The declaration says what the pass changes (module docstring). A pass that changes
            # the graph or its metadata, and any user pass, works on a private copy swapped in
            # when it finishes, so a failure leaves the current graph exactly as it was.
            published = self.current
            swaps = spec.changes_graph or spec.writes_metadata
            private = swaps or not spec.builtin
            try:
                if NEEDS_INPUT_GENERATOR in spec.needs:  # runs real batches through the graph
                    from core.ir.device import require_real_weights

                    require_real_weights(published, spec.name)
                target = published.copy() if private else published
                # a user's pass declared read-only but writing metadata anyway: caught below
                before = MetadataFingerprint(target) if private and not swaps else None
                graph, info = spec.fn(target, full)
            except MaseError as exc:
                run.ok, run.error = False, f"{exc.one_line()}{_user_frame(spec, exc)}"
            except Exception as exc:  # a bug or a torch error inside a pass: keep the session usable
                logger.debug("pass %s failed", spec.name, exc_info=True)
                run.ok, run.error = False, f"{spec.name} failed{_user_frame(spec, exc)}: {type(exc).__name__}: {exc}"
            else:
                run.info = info if isinstance(info, dict) else {"result": info}
                if graph is not None and swaps:
                    self.current = graph
                    run.changed_graph = spec.changes_graph
                elif graph is not None and before is not None and (
                        graph is not target or MetadataFingerprint(graph) != before):
                    self.current = graph  # it wrote metadata after all: publish its copy whole
        run.seconds = time.perf_counter() - start
        self.history.append(run)
        if not run.ok:
            logger.error("%s", run.error)
        return run

    def reset(self) -> None:
        """Back to the original graph; the history records the reset."""
        with self._lock:
            self.current = self.original.copy()
            self.history.append(PassRun(name="reset", kind="session", args={}, changed_graph=True))

    # ------------------------------------------------------------------ evaluation
    def eval_batch_size(self) -> int:
        """Evaluation needs no gradients, so it batches by memory, not by the dummy input's size:
        about 4M input values a batch (1024 JSC rows, 16 ResNet images)."""
        if self.exported:
            return self.batch_size  # an exported graph has the static shapes of its example input
        sample = 1
        for value in (self.dummy_in or {}).values():
            if hasattr(value, "numel") and value.dim() > 0:
                sample = max(sample, value[0].numel())
        return max(self.batch_size, min(1024, (1 << 22) // sample))

    def evaluate(self, which: str = "current", split: str = "test", max_batches: int | None = None,
                 progress: Callable[..., None] | None = None, cancel: threading.Event | None = None) -> dict[str, Any]:
        from core.ir.device import require_real_weights
        from core.train import evaluate

        graph = self.current if which == "current" else self.original
        require_real_weights(graph, "evaluating accuracy")
        problem = self.accuracy_problem()
        if problem:
            raise MaseError(problem, hint="accuracy applies to classifiers; cost and the report passes still work")
        loader = self.datamodule.dataloader(split, shuffle=False, batch_size=self.eval_batch_size())
        if self.exported:
            loader = FullBatches(loader, self.batch_size)
        result = evaluate(graph.model, loader, max_batches=max_batches, progress=progress, cancel=cancel)
        result = dict(result)
        result["split"] = split
        result["data"] = self.data_label
        return result

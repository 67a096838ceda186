"""A Session: model + original graph + current graph + the history of passes run.

The CLI and the app both drive one. Constructing a Session is cheap (no torch import);
``load()`` does the heavy work and reports progress through a callback, so a front end can run
it in a worker.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from core.errors import MaseError, PassError
from core.passes.registry import (
    NEEDS_DUMMY_IN,
    NEEDS_INPUT_GENERATOR,
    NEEDS_ORIGINAL_GRAPH,
    NEEDS_SAVE_DIR,
    get_pass,
)

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
        batch_size: int = 8,
        seed: int = 0,
        trust_checkpoint: bool = False,
        pretrained: bool = True,
        device: str = "cpu",
        num_workers: int = 0,
        custom_leaf_modules: tuple = (),
        train_graph: bool = False,
        cf_args: dict[str, Any] | None = None,
    ) -> None:
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
            say(f"building model {self.model_name}")
            self.model = get_model(self.model_name)
            self._load_weights(say)
            graph = None
        self._load_data(spec, say)
        say("tracing and adding metadata")
        if graph is None:
            from core.ir.concrete import concrete_arguments

            traced, literal = concrete_arguments(self.model, self.cf_args)
            self.concrete = {**traced, **literal}
            graph = MaseGraph(self.model, cf_args=self.cf_args or None, custom_leaf_modules=self.custom_leaf_modules,
                              training=self.train_graph)
        elif not self.train_graph and hasattr(self.model, "eval"):
            self.model.eval()
        graph = self._annotate(graph, keep_metadata=self.load_type == "mz")
        self.original = graph
        self.current = graph.copy()
        self.history = []
        self.loaded = True
        say("ready")
        return self

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

        self.datamodule = get_datamodule(
            dataset,
            model_name=self.model_name,
            batch_size=self.batch_size,
            dataset_path=self.dataset_path,
            num_workers=self.num_workers,
            seed=self.seed,
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
        graph, _ = PASSES["add_common_metadata_analysis_pass"].fn(graph, {"dummy_in": self.dummy_in})
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
        note = "training graph (--train-graph)" if mode == "train" else "traced in eval mode"
        if self.concrete:
            from core.concrete_args import describe_concrete

            note += f"; constant args {describe_concrete(self.concrete)}"
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
        from core.data import InputGenerator

        names = tuple(names or (self.current or self.original).placeholder_names())
        return InputGenerator(self.datamodule, split=split, placeholder_names=names, cycle=True)

    # ------------------------------------------------------------------ passes
    @property
    def is_transformed(self) -> bool:
        return any(r.ok and r.changed_graph for r in self.history)

    def complete_args(self, name: str, args: dict[str, Any] | None, save_dir: str | None = None) -> dict[str, Any]:
        """The user's args plus what only the session can supply (MASE's CLI does the same)."""
        spec = get_pass(name)
        full = {**spec.defaults(), **_user_args(args)} if not spec.free_form else _user_args(args) or spec.defaults()
        if NEEDS_INPUT_GENERATOR in spec.needs and full.get("input_generator") is None:
            full["input_generator"] = self.input_generator("train")
        if NEEDS_ORIGINAL_GRAPH in spec.needs and full.get("original_graph") is None:
            full["original_graph"] = self.original
        if NEEDS_DUMMY_IN in spec.needs and full.get("dummy_in") is None:
            full["dummy_in"] = self.dummy_in
        if NEEDS_SAVE_DIR in spec.needs and save_dir and not full.get("save_dir"):
            full["save_dir"] = save_dir
        if spec.name == "load_mase_graph_interface_pass" and "trust" not in (args or {}):
            full["trust"] = self.trust_checkpoint
        return full

    def run_pass(
        self,
        name: str,
        args: dict[str, Any] | None = None,
        *,
        progress: Callable[..., None] | None = None,
        cancel: threading.Event | None = None,
        save_dir: str | None = None,
    ) -> PassRun:
        """Run a registered pass on the current graph. A transform runs on a copy that replaces
        the current graph only when the pass finishes, so a failure or cancel changes nothing."""
        if not self.loaded:
            raise PassError("the session has no model yet", hint="call load() first")
        spec = get_pass(name)
        run = PassRun(name=spec.name, kind=spec.kind, args=_user_args(args))
        full = self.complete_args(spec.name, args, save_dir)
        if progress is not None:
            full.setdefault("progress", progress)
        if cancel is not None:
            full.setdefault("cancel", cancel)
        start = time.perf_counter()
        with self._lock:
            target = self.current.copy() if spec.kind == "transform" or spec.name.startswith("load_") else self.current
            try:
                graph, info = spec.fn(target, full)
            except MaseError as exc:
                run.ok, run.error = False, exc.one_line()
            except Exception as exc:  # a bug or a torch error inside a pass: keep the session usable
                logger.debug("pass %s failed", spec.name, exc_info=True)
                run.ok, run.error = False, f"{spec.name} failed: {type(exc).__name__}: {exc}"
            else:
                run.info = info if isinstance(info, dict) else {"result": info}
                if graph is not None and (spec.kind == "transform" or spec.name.startswith("load_")):
                    self.current = graph
                    run.changed_graph = True
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
        sample = 1
        for value in (self.dummy_in or {}).values():
            if hasattr(value, "numel") and value.dim() > 0:
                sample = max(sample, value[0].numel())
        return max(self.batch_size, min(1024, (1 << 22) // sample))

    def evaluate(self, which: str = "current", split: str = "test", max_batches: int | None = None,
                 progress: Callable[..., None] | None = None, cancel: threading.Event | None = None) -> dict[str, Any]:
        from core.train import evaluate

        graph = self.current if which == "current" else self.original
        loader = self.datamodule.dataloader(split, shuffle=False, batch_size=self.eval_batch_size())
        result = evaluate(graph.model, loader, max_batches=max_batches, progress=progress, cancel=cancel)
        result = dict(result)
        result["split"] = split
        result["data"] = self.data_label
        return result

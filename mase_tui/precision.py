"""Mixed precision by keyboard, as a mixin of MaseTuiApp.

``p`` opens the precision editor on the highlighted node; ``+``/``-`` step its widths; ``S``
copies its precision to its siblings, ``O`` to every node of the same op; ``W`` saves the edits
as a TOML that ``ch transform --config`` runs. Every change is one ``by = "name"`` quantize of
the original graph (reset + quantize, in a worker, so a failure changes nothing), shown in the
Passes tab; the precision bar shows BitOPs, storage and average bits from the new graph's
metadata at once, then the accuracy on a fixed evaluation subset before -> after, computed in
a cancellable worker (a newer edit cancels it).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from textual.binding import Binding
from textual.worker import get_current_worker

from mase_tui.messages import WorkerProgress

QUANTIZE = "quantize_transform_pass"
EVAL_SAMPLES = 1024


class PrecisionActions:
    """Needs the app's ``session``, ``current_node``, ``ready``, ``main`` and ``panes_with``."""

    PRECISION_BINDINGS = [
        Binding("p", "edit_precision", "Precision", show=False, id="precision.edit"),
        Binding("plus,equals_sign", "step_precision(1)", "Width +1", key_display="+", show=False,
                id="precision.wider"),
        Binding("minus", "step_precision(-1)", "Width -1", key_display="-", show=False, id="precision.narrower"),
        Binding("S", "copy_precision('siblings')", "Precision to siblings", show=False, id="precision.siblings"),
        Binding("O", "copy_precision('op')", "Precision to same op", show=False, id="precision.same-op"),
        Binding("W", "save_precision", "Save precisions", show=False, id="precision.save"),
        Binding("L", "load_precision", "Load precisions", show=False, id="precision.load"),
        Binding("F", "open_search", "Search", show=False, id="search.open"),
    ]
    _precision_edits = None
    _precision_subset = None
    _precision_float_accuracy = None
    _precision_float_cost = None
    _precision_cancel: threading.Event | None = None
    _precision_evaluating = False  # an accuracy evaluation is running and its result not shown
    precision_latency: dict | None = None  # keypress -> cost / accuracy seconds of the last edit
    last_precision_toml: Path | None = None

    # ------------------------------------------------------------------ state
    def precision_edits(self):
        if not self.ready or self.session.original is None:
            self.notify("the model is still loading", severity="warning")
            return None
        from core.search.precision_edits import PrecisionEdits

        if self._precision_edits is None or self._precision_edits.graph is not self.session.original:
            self._precision_edits = PrecisionEdits(self.session.original)
        return self._precision_edits

    def _precision_node(self, edits) -> str | None:
        name = self.current_node
        if name is None or name not in edits.nodes:
            what = f"'{name}'" if name else "this row"
            self.notify(f"{what} cannot be quantised: pick a linear, conv, relu, add, mul, matmul ... node",
                        severity="warning")
            return None
        return name

    # ------------------------------------------------------------------ actions
    def action_edit_precision(self) -> None:
        edits = self.precision_edits()
        node = self._precision_node(edits) if edits else None
        if node is None:
            return
        from mase_tui.widgets.precision_editor import PrecisionEditor

        def edited(result) -> None:
            if result is None:
                return
            self._precision_change(lambda: edits.set(node, result["config"]), f"{node} edited")

        self.push_screen(PrecisionEditor(edits, node), edited)

    def action_step_precision(self, delta: int) -> None:
        edits = self.precision_edits()
        node = self._precision_node(edits) if edits else None
        if node is not None:
            self._precision_change(lambda: edits.step_width(node, delta), f"{node} width {delta:+d}")

    def action_copy_precision(self, scope: str) -> None:
        edits = self.precision_edits()
        node = self._precision_node(edits) if edits else None
        if node is None:
            return
        targets = edits.siblings(node) if scope == "siblings" else edits.same_op(node)
        what = "its siblings" if scope == "siblings" else f"every {edits.node(node).op}"
        self._precision_change(lambda: edits.copy_to(node, targets), f"{node}'s precision copied to {what}")

    def action_save_precision(self) -> None:
        edits = self.precision_edits()
        if edits is None:
            return
        if not edits.configs:
            self.notify("no precision edits to save (p edits the highlighted node)", severity="warning")
            return
        s = self.session
        stamp = time.strftime("%Y%m%d-%H%M%S")
        model = str(s.model_name).replace("/", "-")
        path = Path("mase_output") / "precision" / f"{model}_{stamp}.toml"
        settings = {"model": s.model_name, "dataset": s.dataset, "load_name": s.load_name,
                    "load_type": s.load_type, "project": f"{model}_precision_{stamp}"}
        from core.utils.atomic import atomic_write_text

        atomic_write_text(path, edits.toml(settings))
        self.last_precision_toml = path
        self.notify(f"saved {path} (ch transform --config {path})", timeout=8)

    def action_load_precision(self) -> None:
        """Pick a TOML (saved with W, or any config with a [passes.quantize]) and make its
        quantize config the edits: each node gets the entry the pass would give it."""
        edits = self.precision_edits()
        if edits is None:
            return
        from mase_tui.widgets.config_picker import ConfigPicker, configs_root

        saved = Path("mase_output") / "precision"
        root = saved if saved.is_dir() and any(saved.glob("*.toml")) else configs_root()

        def chosen(path) -> None:
            if path is None:
                return
            from core.config import read_toml
            from core.errors import MaseError
            from mase_tui.widgets.config_picker import pass_args_from_config

            try:
                name, args, _ = pass_args_from_config(read_toml(path), QUANTIZE)
            except MaseError as exc:
                self.notify(exc.one_line(), severity="error", timeout=8)
                return
            if name != QUANTIZE:
                self.notify(f"{path} has no [passes.quantize]", severity="warning")
                return
            self._precision_change(lambda: edits.load(args), f"precisions loaded from {path}")

        self.push_screen(ConfigPicker(root), chosen)

    def action_open_search(self) -> None:
        """The Search tab (mase_tui/widgets/search_tab.py), its trials table focused."""
        self.action_show_tab("tab-search")
        for table in self.main.query("#search-trials"):
            table.focus()

    # ------------------------------------------------------------------ applying
    def apply_quantize_config(self, config: dict, what: str) -> bool:
        """Replace the edits by a whole quantize config (a search trial) and apply it as an edit:
        reset + quantize in a worker, the precision bar and accuracy follow. False when the
        config does not fit the graph (said in a notification) or the model is not loaded."""
        edits = self.precision_edits()
        if edits is None:
            return False
        return self._precision_change(lambda: edits.load(config), what, always=True)

    def _precision_change(self, change, what: str, *, always: bool = False) -> bool:
        """``always``: apply even when the edits did not change (the graph may have since)."""
        from core.errors import MaseError

        pressed = time.perf_counter()
        edits = self._precision_edits
        before = edits.pass_args()
        try:
            change()
        except MaseError as exc:
            self.notify(exc.one_line(), severity="error", timeout=8)
            return False
        args = edits.pass_args()
        if args == before and not always:
            return False
        if self._precision_cancel is not None:
            self._precision_cancel.set()  # a newer edit: the running accuracy is out of date
        self._precision_cancel = threading.Event()
        self.run_worker(lambda: self._precision_apply(args, what, pressed, self._precision_cancel),
                        thread=True, exclusive=True, group="precision", name="precision")
        return True

    def _precision_apply(self, args: dict, what: str, pressed: float, cancel: threading.Event) -> None:
        from core.search.precision_edits import costs

        session = self.session
        session.reset()
        run = session.run_pass(QUANTIZE, args)
        if not run.ok:
            self.call_from_thread(self.notify, run.error, severity="error", timeout=10)
            return
        cost = costs(session.current)
        if self._precision_float_cost is None:
            self._precision_float_cost = costs(session.original)
        cost_seconds = time.perf_counter() - pressed
        self.call_from_thread(self._precision_published, run, args, cost, cost_seconds, what)
        self._precision_accuracy(session.current, pressed, cancel)

    def _precision_published(self, run, args: dict, cost: dict, cost_seconds: float, what: str) -> None:
        from mase_tui.messages import GraphChanged, PassFinished

        self.precision_latency = {"cost": cost_seconds, "accuracy": None}
        bar = self._precision_bar()
        bar.show_cost(len(self._precision_edits.configs), cost, self._precision_float_cost)
        bar.show_accuracy("accuracy: evaluating")
        self.post_message(PassFinished(run))
        self.post_message(GraphChanged("precision"))
        self._show_precision_config(args)
        self.notify(what, timeout=3)

    def _precision_accuracy(self, graph, pressed: float, cancel: threading.Event) -> None:
        from core.errors import MaseError
        from core.search.evaluator import EvalSubset

        session = self.session
        try:
            if self._precision_subset is None:
                samples = min(EVAL_SAMPLES, session.datamodule.split_size("validation"))
                self._precision_subset = EvalSubset(session.datamodule, "validation", samples, chunk=256)
            subset = self._precision_subset
            if self._precision_float_accuracy is None:
                self._precision_float_accuracy = subset.evaluate(session.original)["accuracy"]

            def progress(done: int, total: int) -> None:
                self.post_message(WorkerProgress((done, total), "accuracy"))

            self._precision_evaluating = True

            result = subset.evaluate(graph, progress=progress, cancel=cancel)
        except MaseError:
            return  # cancelled by a newer edit
        if cancel.is_set() or get_current_worker().is_cancelled:
            return
        before, after = self._precision_float_accuracy, result["accuracy"]
        seconds = time.perf_counter() - pressed
        text = f"acc {before:.4f} → {after:.4f} ({after - before:+.4f}; {subset.num_samples} val)"
        self.call_from_thread(self._precision_accuracy_done, text, seconds, after)

    def on_worker_progress(self, message: WorkerProgress) -> None:
        # reports that arrive after the result must not cover it
        if message.source == "accuracy" and self._precision_evaluating:
            done, total = message.values
            self._precision_bar().show_accuracy(f"accuracy: evaluating {done}/{total}")

    def _precision_accuracy_done(self, text: str, seconds: float, accuracy: float) -> None:
        self._precision_evaluating = False
        if self.precision_latency is not None:
            self.precision_latency["accuracy"] = seconds
        self.precision_accuracy = accuracy
        self._precision_bar().show_accuracy(text)

    def _precision_bar(self):
        from mase_tui.widgets.precision_bar import PrecisionBar

        found = self.main.query(PrecisionBar)
        if found:
            return found.first()
        bar = PrecisionBar(id="precision-bar")
        self.main.mount(bar, after=self.main.query_one("#status"))
        return bar

    def _show_precision_config(self, args: dict) -> None:
        """The edits' quantize config in the Passes tab, ready to edit or run again."""
        from mase_tui.widgets.pass_runner import PassRunner, args_to_toml

        runners = self.main.query(PassRunner)
        if not runners:
            return
        from core.passes.registry import PASSES

        runner = runners.first()
        runner.select_pass(QUANTIZE)
        runner.set_args_text(args_to_toml(PASSES[QUANTIZE], args))

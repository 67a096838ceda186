"""One worker's trial evaluation: everything slow is done once, each trial only quantises,
counts and runs the preloaded samples.

Once per worker: import torch, build and trace the model, add its metadata (the float graph),
load ``num_samples`` rows of the evaluation split into memory. Per trial: a private copy of the
float graph quantised by ``quantize_transform_pass`` (the same pass `ch transform` runs, so a
saved trial config reproduces the graph), the cost metrics read from its metadata (no forward),
and one forward over the preloaded samples with fresh metrics (MASE keeps its metric state
across trials, so its trial k reports the mean of trials 0..k).

The runners (MASE's names):
- ``basic_evaluation``: ``accuracy`` (fraction correct) and ``loss`` (mean cross-entropy);
- ``average_bitwidth``: ``average_bitwidth`` (mean weight width over every weighted layer,
  float = 32) and ``memory_density`` = compare_to / average_bitwidth;
- ``cost`` (always on, no forward): ``bitops`` and ``flops`` per sample, ``param_bits``.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any, Callable

from core.search.config import SearchConfig

logger = logging.getLogger(__name__)

# rows per forward: one batch for the usual num_samples, bounded for big inputs
_MAX_EVAL_ROWS = 4096


class EvalSubset:
    """A fixed evaluation subset held in memory: the first ``num_samples`` rows of a split, in
    order, so every evaluation (every trial, every edit) scores the same samples with fresh
    metrics."""

    def __init__(self, datamodule, split: str, num_samples: int, *, eval_mode: bool = True,
                 chunk: int = _MAX_EVAL_ROWS) -> None:
        loader = datamodule.dataloader(split, shuffle=False, batch_size=num_samples)
        x, y = next(iter(loader))
        if len(y) < num_samples:
            logger.warning("the %s split has %d samples; num_samples = %d uses all of them",
                           split, len(y), num_samples)
        self.inputs = list(x.split(chunk))
        self.labels = list(y.split(chunk))
        self.num_samples = len(y)
        self.split = split
        self.eval_mode = eval_mode

    def evaluate(self, graph, progress: Callable[[int, int], None] | None = None, cancel=None) -> dict[str, float]:
        """Accuracy (fraction correct) and mean cross-entropy; ``progress(done, total)`` after
        each chunk; a set ``cancel`` event stops with MaseError (no numbers from part of it)."""
        import torch
        import torch.nn.functional as F

        from core.errors import MaseError

        model = graph.model
        model.train(not self.eval_mode)  # eval_mode = false: BatchNorm uses batch statistics
        loss = 0.0
        correct = 0
        total = len(self.inputs)
        with torch.no_grad():
            for i, (x, y) in enumerate(zip(self.inputs, self.labels, strict=True), start=1):
                if cancel is not None and cancel.is_set():
                    raise MaseError("evaluation cancelled")
                logits = model(x)
                loss += float(F.cross_entropy(logits, y, reduction="sum"))
                correct += int((logits.argmax(dim=1) == y).sum())
                if progress is not None:
                    progress(i, total)
        n = self.num_samples
        return {"accuracy": correct / n, "loss": loss / n, "samples": n}


class TrialEvaluator:
    def __init__(self, settings: dict[str, Any], search: SearchConfig, *, threads: int | None = 1,
                 progress: Callable[[str], None] | None = None) -> None:
        say = progress or (lambda msg: logger.info("%s", msg))
        import torch

        if threads:
            # one intra-op thread per worker: a small model's forward is faster on one thread,
            # and several workers on one machine must not oversubscribe the cores
            torch.set_num_threads(threads)
        from core.search.space import build_space
        from core.session import Session

        self.search = search
        session = Session(
            settings["model"], load=settings.get("load_name"), load_type=settings.get("load_type"),
            dataset=settings.get("dataset"), dataset_path=settings.get("dataset_path"),
            batch_size=settings.get("batch_size") or 8, seed=settings.get("seed") or 0,
            trust_checkpoint=bool(settings.get("trust_checkpoint")), pretrained=settings.get("pretrained", True),
        )
        session.load(progress=say)
        self.session = session
        self.graph = session.original
        self.space = build_space(self.graph, search)
        self.subset = (EvalSubset(session.datamodule, search.split, search.num_samples, eval_mode=search.eval_mode)
                       if search.needs_evaluation else None)

    # ------------------------------------------------------------------ one trial
    def quantize(self, config: dict[str, Any]):
        from core.passes.transforms.quantize import quantize_transform_pass

        graph, _ = quantize_transform_pass(self.graph.copy(), config)
        return graph

    def evaluate(self, config: dict[str, Any]) -> tuple[dict[str, float], dict[str, float]]:
        """(metrics, seconds spent in quantise / cost / evaluate) for one quantize config."""
        t0 = time.perf_counter()
        graph = self.quantize(config)
        t1 = time.perf_counter()
        metrics = cost_metrics(graph, self.search.compare_to)
        t2 = time.perf_counter()
        if self.search.needs_evaluation:
            metrics.update(self.accuracy(graph))
        t3 = time.perf_counter()
        return metrics, {"quantize": t1 - t0, "cost": t2 - t1, "evaluate": t3 - t2}

    def accuracy(self, graph) -> dict[str, float]:
        result = self.subset.evaluate(graph)
        return {"accuracy": result["accuracy"], "loss": result["loss"]}


def cost_metrics(graph, compare_to: float = 32.0) -> dict[str, float]:
    """The runners' cost metrics from two analysis passes on the quantised graph's metadata (no
    forward): cost_analysis_pass (BitOPs and FLOPs per sample, parameter storage bits) and
    calculate_avg_bits_mg_analysis_pass (the weight bit width averaged over every Linear/Conv
    weight element, float = 32; MASE's runner counts only its quantised nn.Linear layers)."""
    from core.passes.analysis.avg_bits import calculate_avg_bits_mg_analysis_pass
    from core.passes.analysis.cost import cost_analysis_pass

    _, info = cost_analysis_pass(graph, {})
    _, bits = calculate_avg_bits_mg_analysis_pass(graph, {})
    average = bits["w_avg_bit"] if bits["w_avg_bit"] is not None else 32.0
    return {
        "bitops": info["totals_per_sample"]["bitops"],
        "flops": info["totals_per_sample"]["flops_total"],
        "param_bits": info["totals_model"]["param_bits"],
        "average_bitwidth": average,
        "memory_density": compare_to / average if average else math.inf,
    }

"""What the benchmark scripts share: the repository on sys.path, the common options, dummy
inputs and annotated graphs, a timer, and the printed table and JSON line.

Scripts run as ``python benchmarks/bench_x.py``, so this directory is on sys.path and they
import this module as ``_common`` (before anything from core).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from core.ir import MaseGraph  # noqa: E402
from core.models import get_model_spec  # noqa: E402
from core.passes import PASSES  # noqa: E402


def parser(doc: str, *, repeats: int, warmup: int | None = None) -> argparse.ArgumentParser:
    """--repeats, --threads and --json-only (and --warmup when the script has a default)."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--repeats", type=int, default=repeats)
    if warmup is not None:
        p.add_argument("--warmup", type=int, default=warmup)
    p.add_argument("--threads", type=int, default=1,
                   help="torch intra-op threads (1 keeps timings stable on a shared 2-core box, "
                        "and thread wake-ups would swamp steps this small)")
    p.add_argument("--json-only", action="store_true", help="print only the JSON line")
    return p


def setup(args: argparse.Namespace) -> None:
    """Quiet logs (a warning a repeat would bury the table) and the thread count asked for."""
    logging.basicConfig(level=logging.ERROR)
    torch.set_num_threads(args.threads)


def dummy_input(name: str, batch: int, seed: int = 0) -> dict[str, torch.Tensor]:
    return get_model_spec(name).random_inputs(batch, seed)


def annotated(model: torch.nn.Module, dummy_in: dict, *, software: bool = False) -> MaseGraph:
    """Trace plus init and common metadata (and software metadata), as a session does."""
    mg = MaseGraph(model)
    mg, _ = PASSES["init_metadata_analysis_pass"].fn(mg, None)
    mg, _ = PASSES["add_common_metadata_analysis_pass"].fn(mg, {"dummy_in": dummy_in})
    if software:
        mg, _ = PASSES["add_software_metadata_analysis_pass"].fn(mg, None)
    return mg


def timed(fn: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    """(wall seconds, result) of one call."""
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]], note: str | None = None) -> None:
    """Columns as wide as their widest cell; the first left-aligned, the others right."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        parts = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))]
        return "  ".join(parts).rstrip()

    print(line(headers))
    for row in rows:
        print(line(row))
    if note:
        print(note)


class Replay:
    """A MASE-style input generator over pre-made batches."""

    def __init__(self, batches: list[dict], batch_size: int) -> None:
        self.batches, self.batch_size, self.i = batches, batch_size, 0

    def __iter__(self):
        return self

    def __next__(self):
        if self.i >= len(self.batches):
            raise StopIteration
        self.i += 1
        return self.batches[self.i - 1]


def print_json(doc: dict[str, Any]) -> None:
    print(json.dumps(doc))

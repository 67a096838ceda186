"""Listing passes from their declarations vs importing the pass modules, in fresh processes.

The registry reads every built-in ``@mase_pass`` declaration from the source (no torch), so
``mase-tui passes``, config validation and the app's first frame stay cheap. Three fresh Python
processes, alternating, median of the repeats:

- baseline: ``import core.passes`` (the interpreter plus the package, nothing read);
- listing: the same plus every declaration (``list(PASSES.values())``);
- importing: the same plus importing every pass module (what listing would cost otherwise).

Target: listing at most 1.2x the baseline.

    .venv/bin/python benchmarks/bench_registry.py [--repeats 7] [--json-only]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from _common import parser, print_json, print_table, setup

from core.passes.registry import BUILTIN_MODULES

TARGET = 1.2
CODES = {
    "baseline": "import core.passes",
    "listing": "from core.passes import PASSES\nspecs = list(PASSES.values())",
    "importing": "import importlib\nfrom core.passes import PASSES\nspecs = list(PASSES.values())\n"
                 + "".join(f"importlib.import_module({m!r})\n" for m in BUILTIN_MODULES),
}


def run(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - start


def main() -> None:
    args = parser(__doc__, repeats=7).parse_args()
    setup(args)
    times: dict[str, list[float]] = {name: [] for name in CODES}
    for code in CODES.values():  # warm the file cache
        run(code)
    for _ in range(args.repeats):
        for name, code in CODES.items():
            times[name].append(run(code))
    median = {name: statistics.median(values) for name, values in times.items()}
    ratios = {name: median[name] / median["baseline"] for name in CODES}
    result = {"benchmark": "registry", "repeats": args.repeats, "seconds": median, "ratio_to_baseline": ratios,
              "target_listing_ratio": TARGET, "ok": ratios["listing"] <= TARGET}
    if not args.json_only:
        print_table(["process", "median s", "x baseline"],
                    [[name, f"{median[name]:.3f}", f"{ratios[name]:.2f}"] for name in CODES],
                    note=f"listing target <= {TARGET}x baseline: {'ok' if result['ok'] else 'MISSED'}")
    print_json(result)


if __name__ == "__main__":
    main()

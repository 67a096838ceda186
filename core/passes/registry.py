"""The pass registry: name -> function, kind, description and arguments with defaults.

Front ends (CLI, config loader, the app's palette and pass runner) are built from this table,
so adding a pass is one module plus one entry below. Functions are imported on first use, which
keeps listing passes free of torch.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass
from typing import Any, Callable

from core.errors import ConfigError

# What a pass may need that only its caller (the Session, the CLI) can supply.
NEEDS_INPUT_GENERATOR = "input_generator"
NEEDS_ORIGINAL_GRAPH = "original_graph"
NEEDS_DUMMY_IN = "dummy_in"
NEEDS_SAVE_DIR = "save_dir"


@dataclass(frozen=True)
class ArgSpec:
    name: str
    default: Any = None
    help: str = ""
    required: bool = False


@dataclass(frozen=True)
class PassSpec:
    name: str
    kind: str  # "analysis" | "transform" | "interface"
    description: str
    module: str
    func: str
    args: tuple[ArgSpec, ...] = ()
    needs: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    # args that MASE's config passes for this pass that we must not treat as an error
    free_form: bool = False

    @property
    def fn(self) -> Callable:
        return getattr(importlib.import_module(self.module), self.func)

    @property
    def short_name(self) -> str:
        for suffix in ("_analysis_pass", "_transform_pass", "_interface_pass", "_pass"):
            if self.name.endswith(suffix):
                return self.name[: -len(suffix)]
        return self.name

    def defaults(self) -> dict[str, Any]:
        return {a.name: a.default for a in self.args}

    def __call__(self, graph, pass_args=None, **kwargs):
        return self.fn(graph, pass_args, **kwargs)


_A = "analysis"
_T = "transform"
_I = "interface"

_SPECS: list[PassSpec] = [
    PassSpec("init_metadata_analysis_pass", _A, "Give every node an empty MASE metadata record",
             "core.passes.analysis.init_metadata", "init_metadata_analysis_pass"),
    PassSpec("add_common_metadata_analysis_pass", _A,
             "MASE types and ops, shapes, dtypes and precisions of every node (runs the dummy input)",
             "core.passes.analysis.common_metadata", "add_common_metadata_analysis_pass",
             (ArgSpec("dummy_in", None, "dict of input tensors keyed by placeholder name", True),
              ArgSpec("add_value", False, "store tensor values in the metadata"),
              ArgSpec("force_device_meta", False, "run on the meta device (shapes only)")),
             needs=(NEEDS_DUMMY_IN,)),
    PassSpec("add_software_metadata_analysis_pass", _A, "Empty statistic slots for every arg and result",
             "core.passes.analysis.software_metadata", "add_software_metadata_analysis_pass"),
    PassSpec("report_graph_analysis_pass", _A, "fx graph text, opcode counts and layer types",
             "core.passes.analysis.report_graph", "report_graph_analysis_pass",
             (ArgSpec("file_name", None, "also write the report to this file"),)),
    PassSpec("report_node_type_analysis_pass", _A, "Table of node name, fx op, MASE type and op, value type",
             "core.passes.analysis.report_node", "report_node_type_analysis_pass",
             (ArgSpec("save_path", None, "also write the table to this file"),)),
    PassSpec("report_node_shape_analysis_pass", _A, "Input and output shapes of every node",
             "core.passes.analysis.report_node", "report_node_shape_analysis_pass",
             (ArgSpec("save_path", None, "also write the report to this file"),)),
    PassSpec("report_node_meta_param_analysis_pass", _A, "Table of each node's common/software/hardware metadata",
             "core.passes.analysis.report_node", "report_node_meta_param_analysis_pass",
             (ArgSpec("which", ["all"], "any of all, common, software, hardware"),
              ArgSpec("save_path", None, "also write the table to this file"))),
    PassSpec("verify_common_metadata_analysis_pass", _A,
             "Check shapes between producers and consumers, types and precisions",
             "core.passes.analysis.verify_metadata", "verify_common_metadata_analysis_pass"),
    PassSpec("profile_statistics_analysis_pass", _A, "Weight and activation statistics over sample batches",
             "core.passes.analysis.profile_statistics", "profile_statistics_analysis_pass",
             (ArgSpec("by", "type", "match targets on mase op (type) or node name (name)"),
              ArgSpec("target_weight_nodes", ["linear"], "ops or names whose weights are profiled"),
              ArgSpec("target_activation_nodes", ["relu"], "ops or names whose inputs are profiled"),
              ArgSpec("weight_statistics", {"variance_precise": {"device": "cpu", "dims": "all"}}),
              ArgSpec("activation_statistics", {"range_quantile": {"device": "cpu", "dims": "all", "quantile": 0.97}}),
              ArgSpec("num_samples", 32, "number of samples to profile")),
             needs=(NEEDS_INPUT_GENERATOR,)),
    PassSpec("quantize_transform_pass", _T, "Replace ops by quantised ones (integer, minifloat, log, block_fp, ...)",
             "core.passes.transforms.quantize", "quantize_transform_pass",
             (ArgSpec("by", "type", "match config keys on mase op (type), node name (name) or regex_name"),
              ArgSpec("default", {"config": {"name": None}}, "config for nodes with no entry"),
              ArgSpec("linear", {"config": {"name": "integer", "data_in_width": 8, "data_in_frac_width": 4,
                                            "weight_width": 8, "weight_frac_width": 4,
                                            "bias_width": 8, "bias_frac_width": 4}})),
             free_form=True),
    PassSpec("summarize_quantization_analysis_pass", _A,
             "Per-node table and histogram of what quantisation changed (quantize_table.csv, quantize_histogram.csv)",
             "core.passes.analysis.quant_summary", "summarize_quantization_analysis_pass",
             (ArgSpec("save_dir", None, "directory for the CSV and JSON files"),),
             needs=(NEEDS_ORIGINAL_GRAPH,)),
    PassSpec("verify_quantization_analysis_pass", _A,
             "Show that quantised weights, biases and inputs lie on the quantiser's grid (error, SQNR)",
             "core.passes.analysis.verify_quant", "verify_quantization_analysis_pass",
             needs=(NEEDS_INPUT_GENERATOR,)),
    PassSpec("cost_analysis_pass", _A, "MACs, FLOPs, BitOPs, parameters, storage and activation memory",
             "core.passes.analysis.cost", "cost_analysis_pass",
             (ArgSpec("batch_size", None, "report per-batch totals for this batch (default: the dummy input's)"),
              ArgSpec("uniq", False, "also count accumulator-aware UNIQ/Hawks BitOPs")),
             aliases=("calculate_cost_analysis_pass", "flop_bitop_analysis_pass")),
    PassSpec("calculate_avg_bits_mg_analysis_pass", _A,
             "Average bit width of linear/conv inputs and weights, weighted by element count (MASE)",
             "core.passes.analysis.avg_bits", "calculate_avg_bits_mg_analysis_pass",
             (ArgSpec("mase_sum_precision", False,
                      "count bits as MASE does, the sum of the precision list (integer 8/4 -> 12)"),),
             aliases=("calculate_avg_bits", "avg_bits")),
    PassSpec("save_mase_graph_interface_pass", _I, "Save graph, weights and metadata (no code is pickled)",
             "core.passes.interface.save_load", "save_mase_graph_interface_pass",
             (ArgSpec("save_dir", None, "directory to write", True),), needs=(NEEDS_SAVE_DIR,)),
    PassSpec("load_mase_graph_interface_pass", _I, "Load a graph saved by save_mase_graph",
             "core.passes.interface.save_load", "load_mase_graph_interface_pass",
             (ArgSpec("load_dir", None, "directory to read", True),
              ArgSpec("trust", False, "allow unpickling the modules the save could not describe (only for saves you trust)"))),
]

PASSES: dict[str, PassSpec] = {spec.name: spec for spec in _SPECS}

_ALIASES: dict[str, str] = {}
for _spec in _SPECS:
    _ALIASES[_spec.short_name] = _spec.name
    for _alias in _spec.aliases:
        _ALIASES[_alias] = _spec.name
# MASE config section names that differ from the short names
_ALIASES.update({"cost": "cost_analysis_pass", "summarize_quantization": "summarize_quantization_analysis_pass"})


def resolve_pass_name(name: str) -> str:
    if name in PASSES:
        return name
    if name in _ALIASES:
        return _ALIASES[name]
    choices = list(PASSES) + list(_ALIASES)
    close = difflib.get_close_matches(name, choices, n=1)
    hint = f"did you mean '{close[0]}'?" if close else "run `mase-tui passes` to list them"
    raise ConfigError(f"unknown pass '{name}'", hint=hint)


def get_pass(name: str) -> PassSpec:
    return PASSES[resolve_pass_name(name)]

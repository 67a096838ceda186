"""verify_quantization_analysis_pass (lab 2, exercise 6): show that quantised nodes compute with
values on their quantiser's grid.

For every quantised node, the effective weights and biases (``module.quantized_weight()`` ...)
and, when an ``input_generator`` is given, the quantised inputs of the first batch(es) are checked
against the grid, which is written out independently of the quantiser code: for ``integer``
``v * 2^frac`` must be an integer in the (signed, or for ReLU unsigned) range; for minifloat,
log and block_fp the value must be a sign, an exponent in range and an integer mantissa of the
right width; binary and ternary values must be among their two or three levels. Reported per
operand: values off the grid, distinct values, max |quantised - float| and SQNR in dB. For
quantised layers with a captured input, the layer's output is compared with the float op run on
hand-quantised operands.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from core.mx_names import is_mx
from core.passes.analysis.profile_statistics import draw_samples, placeholders, tap_inputs
from core.passes.schema import Arg, mase_pass
from core.quant import FUNCTION_TO_OP, QUANTIZED_MODULE_CLASSES, quantize
from core.quant.config import canonical_name, has_operand, mx_axis, operand_kwargs, skipped_operands
from core.quant.quantizers import block_exponents

logger = logging.getLogger(__name__)

# function op -> (arg position, parameter name, operand, metadata arg name)
_BINARY = ((0, "input", "data_in", "data_in_0"), (1, "other", "data_in", "data_in_1"))
_WEIGHTED = ((0, "input", "data_in", "data_in_0"), (1, "weight", "weight", "weight"), (2, "bias", "bias", "bias"))
_FUNCTION_OPERANDS = {
    "add": _BINARY, "sub": _BINARY, "mul": _BINARY,
    "matmul": ((0, "input", "data_in", "data_in_0"), (1, "other", "weight", "data_in_1")),
    "bmm": ((0, "input", "data_in", "data_in_0"), (1, "mat2", "weight", "data_in_1")),
    "relu": ((0, "input", "data_in", "data_in_0"),),
    "linear": _WEIGHTED, "conv1d": _WEIGHTED, "conv2d": _WEIGHTED,
}


# --------------------------------------------------------------------------- grids
def _is_int(t: Tensor) -> Tensor:
    return t == torch.round(t)


def _log2_floor(v: Tensor) -> Tensor:
    _, e = torch.frexp(v)
    return (e - 1).double()


def grid_check(name: str, q: Tensor, kw: dict[str, Any], x: Tensor, unsigned: bool) -> tuple[Tensor, str, int | None]:
    """(on-grid mask, grid description, number of representable levels or None)."""
    name = canonical_name(name)
    v = q.detach().double()
    a = v.abs()
    if name == "integer":
        w, f = kw["width"], kw["frac_width"] if kw["frac_width"] is not None else kw["width"] // 2
        lo, hi = (0, 2**w - 1) if unsigned else (-(2 ** (w - 1)), 2 ** (w - 1) - 1)
        k = torch.ldexp(v, torch.tensor(float(f), dtype=torch.float64))
        return _is_int(k) & (k >= lo) & (k <= hi), f"k * 2^{-f}, k in [{lo}, {hi}]", hi - lo + 1
    if name in ("minifloat_ieee", "minifloat_denorm"):
        m = kw["width"] - kw["exponent_width"] - 1
        bias = kw["exponent_bias"] if kw["exponent_bias"] is not None else 2 ** (kw["exponent_width"] - 1) - 1
        e_min, e_max = -bias, 2 ** kw["exponent_width"] - 1 - bias
        safe = torch.where(a > 0, a, torch.ones_like(a))
        if name == "minifloat_ieee":
            sub = a < 2.0 ** (e_min + 1)
            k_sub = torch.ldexp(a, torch.tensor(float(m - e_min - 1), dtype=torch.float64))
            e = _log2_floor(safe)
            k_norm = torch.ldexp(a, m - e)
            ok = torch.where(sub, _is_int(k_sub) & (k_sub <= 2**m - 1), _is_int(k_norm) & (e <= e_max))
            return ok | (a == 0), f"±2^e (1 + k/2^{m}), e in [{e_min + 1}, {e_max}], subnormals k * 2^{e_min + 1 - m}", None
        e = torch.clamp(_log2_floor(safe) + 1, min=e_min)
        k = torch.ldexp(a, m - e)
        ok = _is_int(k) & (k <= 2**m - 1) & (e <= e_max)
        return ok | (a == 0), f"±2^e * k/2^{m}, k < 2^{m}, e in [{e_min}, {e_max}]", None
    if name == "log":
        bias = kw["exponent_bias"] if kw["exponent_bias"] is not None else 2 ** (kw["width"] - 2) - 1
        e_min, e_max = -bias, 2 ** (kw["width"] - 1) - 1 - bias
        mant, e = torch.frexp(a)
        return (mant == 0.5) & (e - 1 >= e_min) & (e - 1 <= e_max), f"±2^e, e in [{e_min}, {e_max}]", 2 * (e_max - e_min + 1)
    if name == "block_fp":
        m = kw["width"] - 1
        e = block_exponents(x, kw["block_size"], kw["exponent_width"], kw["exponent_bias"], kw["skip_first_dim"])
        k = torch.ldexp(a, m - e)
        return _is_int(k) & (k <= 2**m - 1), f"±2^e_block * k/2^{m}, k < 2^{m}, blocks {kw['block_size']}", None
    if name == "binary":
        if kw["bipolar"]:
            return (v == 1) | (v == -1), "{-1, +1}", 2
        row_max = v.amax(dim=tuple(range(1, v.ndim)), keepdim=True) if v.ndim > 1 else v.max()
        return (v == 0) | ((v == row_max) & (row_max >= 0)), "{0, mean|x| per row}", 2
    if name == "ternary":
        if not kw["scaling_factor"]:
            return (v == 0) | (a == 1), "{-1, 0, +1}", 3
        # one scale per first-dim slice (MASE)
        level = a.amax(dim=tuple(range(1, a.ndim)), keepdim=True) if a.ndim > 1 else a.max()
        return (v == 0) | (a == level), "{-a, 0, +a} per slice", 3
    # the other formats (block minifloat/log, MX, binary_residual): quantising again changes nothing
    again = quantize(q, canonical_name(name), **kw).detach().double()
    same = (again == v) | (torch.isnan(again) & torch.isnan(v))
    return same, f"{name} grid (re-quantising is the identity)", None


def check_operand(config: dict[str, Any], operand: str, x: Tensor, unsigned: bool = False,
                  q: Tensor | None = None, op: str | None = None) -> dict[str, Any]:
    """Quantise ``x`` with the operand's quantiser (or take ``q``) and describe the result."""
    kw = operand_kwargs(config, operand)
    if unsigned and canonical_name(config["name"]) == "integer":
        kw["is_signed"] = False
    if is_mx(config["name"]):
        kw["axis"] = mx_axis(op or "", operand, x.ndim)
    with torch.no_grad():
        x = x.detach()
        q = (quantize(x, canonical_name(config["name"]), **kw) if q is None else q).detach()
        ok, grid, levels = grid_check(config["name"], q, kw, x, unsigned)
        err = (q.double() - x.double())
        noise = float((err * err).sum())
        signal = float((x.double() ** 2).sum())
        sqnr = None if noise == 0 or signal == 0 else 10 * math.log10(signal / noise)
        return {
            "operand": operand, "shape": list(x.shape), "grid": grid,
            "on_grid": bool(ok.all()), "off_grid": int((~ok).sum()),
            "distinct": int(torch.unique(q).numel()), "levels": levels,
            "max_abs_error": float(err.abs().max()) if err.numel() else 0.0,
            "sqnr_db": sqnr, "exact": noise == 0,
            "range": [float(q.min()), float(q.max())] if q.numel() else [],
        }


# --------------------------------------------------------------------------- nodes
def _quantised_nodes(graph) -> list[tuple[Any, str, str, dict[str, Any], Any]]:
    """(node, kind, op, config, module or None) for every quantised node."""
    out = []
    for node in graph.fx_graph.nodes:
        if node.op == "call_module":
            module = graph.model.get_submodule(node.target)
            if isinstance(module, QUANTIZED_MODULE_CLASSES):
                out.append((node, "module", module.op, module.config, module))
        elif node.op == "call_function" and node.target in FUNCTION_TO_OP and node.kwargs.get("config"):
            out.append((node, "function", FUNCTION_TO_OP[node.target], node.kwargs["config"], None))
    return out


def _arg(args: tuple, kwargs: dict, pos: int, name: str) -> Any:
    return args[pos] if pos < len(args) else kwargs.get(name)


def _layer_output_check(module, x: Tensor) -> dict[str, Any]:
    """The layer's output against the float op on hand-quantised operands."""
    cfg, name = module.config, canonical_name(module.config["name"])
    x_kw = operand_kwargs(cfg, "data_in")
    if module.op == "relu" and name == "integer":
        x_kw["is_signed"] = False
    plain = name in ("integer", "minifloat_ieee", "minifloat_denorm", "log", "block_fp", "binary", "ternary") \
        and not skipped_operands(module.op, cfg, "module")
    with torch.no_grad():
        # formats with per-class operand rules or learnable parts: the layer's own effective operands
        xq = quantize(x, name, **x_kw) if plain else module.quantize_input(x.clone())
        got = module(x.clone())
        if module.op == "relu":
            ref = F.relu(xq)
        elif plain:
            w = quantize(module.weight, name, **operand_kwargs(cfg, "weight"))
            b = None if module.bias is None else quantize(module.bias, name, **operand_kwargs(cfg, "bias"))
            ref = F.linear(xq, w, b) if module.op == "linear" else module._conv_forward(xq, w, b)
        else:
            w, b = module.quantized_weight(), module.quantized_bias()
            ref = F.linear(xq, w, b) if module.op == "linear" else module._conv_forward(xq, w, b)
        if has_operand(cfg, "data_out"):
            out_kw = operand_kwargs(cfg, "data_out")
            if module.op == "relu" and name == "integer":
                out_kw["is_signed"] = False
            ref = quantize(ref, name, **out_kw)
        return {"max_abs_diff": float((got.double() - ref.double()).abs().max()) if got.numel() else 0.0}


@mase_pass(
    "verify_quantization_analysis_pass",
    kind="analysis",
    doc="Show that quantised weights, biases and inputs lie on the quantiser's grid (error, SQNR)",
    args=[
        Arg("num_samples", "int", None, "samples to check inputs on (default: one batch)"),
        Arg("input_generator", "object", None, "batches of model inputs", supplied="input_generator"),
    ],
    renderer="verify_quant",
)
def verify_quantization_analysis_pass(graph, pass_args: dict[str, Any] | None = None):
    """Check every quantised node's effective operands; returns ``(graph, info)``."""
    args = dict(pass_args or {})
    nodes = _quantised_nodes(graph)
    captured: dict[str, tuple[tuple, dict]] = {}
    generator = args.get("input_generator")
    if generator is not None and nodes:
        num = args.get("num_samples") or getattr(generator, "batch_size", None) or 1

        def capture(key: str):
            def verify_tap(*values, **kwargs):
                captured.setdefault(key, (values, kwargs))  # the first batch shows the grid
            return verify_tap

        tapped = tap_inputs(graph.model, {n.name: capture(n.name) for n, *_ in nodes}, call_args=True)
        modes = {m: m.training for m in graph.model.modules()}
        tapped.eval()
        try:
            with torch.no_grad():
                for kwargs, _ in draw_samples(generator, int(num), placeholders(graph.model), args.get("cancel")):
                    tapped(**kwargs)
                    break
        finally:
            for module, mode in modes.items():
                module.training = mode

    reports = []
    for node, kind, op, config, module in nodes:
        entry: dict[str, Any] = {"name": node.name, "kind": kind, "op": op, "quantizer": config["name"], "operands": []}
        if config.get("bypass"):
            entry["note"] = "bypass: runs in float"
            reports.append(entry)
            continue
        call = captured.get(node.name)
        if kind == "module":
            quantised = module.quantised_operands()
            for operand, tensor in (("weight", getattr(module, "weight", None)), ("bias", getattr(module, "bias", None))):
                if tensor is not None and has_operand(config, operand) and operand in quantised:
                    eff = module.quantized_weight() if operand == "weight" else module.quantized_bias()
                    entry["operands"].append({"arg": operand, **check_operand(config, operand, tensor, q=eff, op=op)})
            if call is not None and isinstance(call[0][0], Tensor):
                x = call[0][0]
                if "data_in" in quantised and canonical_name(config["name"]) != "binary_residual":
                    entry["operands"].insert(0, {"arg": "data_in_0", **check_operand(
                        config, "data_in", x, unsigned=op == "relu", op=op)})
                entry["output_check"] = _layer_output_check(module, x)
        elif call is not None:
            for pos, pname, operand, arg_name in _FUNCTION_OPERANDS[op]:
                value = _arg(call[0], call[1], pos, pname)
                if isinstance(value, Tensor) and value.is_floating_point() and has_operand(config, operand):
                    entry["operands"].append({"arg": arg_name, **check_operand(config, operand, value,
                                                                               unsigned=op == "relu", op=op)})
        if not entry["operands"]:
            entry["note"] = "no tensor operand to check" + ("" if generator is not None else " (no input_generator for inputs)")
        reports.append(entry)

    checked = [o for r in reports for o in r["operands"]]
    all_ok = all(o["on_grid"] for o in checked)
    text = _table(reports)
    logger.info("Quantisation check (%d operands, %s):\n%s", len(checked), "all on grid" if all_ok else "OFF GRID", text)
    info = {"nodes": reports, "checked": len(checked), "all_on_grid": all_ok,
            "inputs_checked": generator is not None, "text": text}
    return graph, info


def _table(reports: list[dict[str, Any]]) -> str:
    from core.passes.analysis.quant_summary import orgtbl

    rows = []
    for r in reports:
        for o in r["operands"]:
            sqnr = "exact" if o["exact"] else ("-" if o["sqnr_db"] is None else f"{o['sqnr_db']:.1f}")
            rows.append([r["name"], o["arg"], r["quantizer"], o["grid"], "yes" if o["on_grid"] else f"NO ({o['off_grid']})",
                         o["distinct"], f"{o['max_abs_error']:.3g}", sqnr])
        if not r["operands"]:
            rows.append([r["name"], "-", r["quantizer"], r.get("note", ""), "-", "-", "-", "-"])
    return orgtbl(["Node", "Operand", "Quantiser", "Grid", "On grid", "Distinct", "Max |err|", "SQNR dB"], rows)

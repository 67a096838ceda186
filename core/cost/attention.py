"""Cost rules for attention ops, from metadata shapes (plus MHA's recorded layout flags).

The oracle these match is FlopCounterMode with the math attention kernel
(``torch.nn.attention.sdpa_kernel(SDPBackend.MATH)``) and MHA's fused fast path off
(``torch.backends.mha.set_fastpath_enabled(False)``): the projections are ``addmm``/``mm`` and the
attention is two ``bmm``s (QK^T and PV), each batch x L x S x E MACs. The math kernel computes
every score, so a causal or masked attention costs the same MACs as an unmasked one.
"""

from __future__ import annotations

import math

from core.cost.bits import is_tensor_entry
from core.cost.opcost import MacPart, MissingShape, OpCost, shape_of


def _has(args: dict, name: str) -> bool:
    return is_tensor_entry(args.get(name))


def sdpa(args: dict, results: dict):
    """F.scaled_dot_product_attention(q, k, v, attn_mask, ..., enable_gqa): q [..., L, E],
    k [..., S, E], v [..., S, Ev]; batch = every leading dim of q (heads included, so grouped
    query attention counts the query heads, as the math kernel's repeated k/v do)."""
    q, k, v = shape_of(args, "data_in_0"), shape_of(args, "data_in_1"), shape_of(args, "data_in_2")
    length, e = q[-2], q[-1]
    s, ev = k[-2], v[-1]
    batch = math.prod(q[:-2])
    scores = batch * length * s
    masked = _has(args, "data_in_3") or _has(args, "attn_mask")
    parts = [MacPart(scores * e, e, "data_in_0", "data_in_1"), MacPart(scores * ev, s, "data_in_0", "data_in_2")]
    elementwise = (3 if masked else 2) * scores
    return OpCost(parts, elementwise,
                  f"batch {batch} x L {length} x S {s} x (E {e} + Ev {ev}){' (mask add)' if masked else ''}")


def multihead_attention(args: dict, results: dict):
    """nn.MultiheadAttention (one fx node): in-projections, QK^T, PV and the out-projection.

    Layout: [B, L, E] with batch_first, else [L, B, E]; 2-D inputs are unbatched. Key rows S
    grow by one for bias_k (add_bias_kv) and one for add_zero_attn. The head count does not
    change MACs (heads x head_dim = E)."""
    q, k, v = shape_of(args, "data_in_0"), shape_of(args, "data_in_1"), shape_of(args, "data_in_2")
    e = shape_of(args, "out_proj_weight")[0]
    if len(q) == 3:
        batch_first = bool(args.get("batch_first"))
        b, length = (q[0], q[1]) if batch_first else (q[1], q[0])
        s = k[1] if batch_first else k[0]
    else:
        b, length, s = 1, q[0], k[0]
    kdim, vdim = k[-1], v[-1]
    s_att = s + (1 if _has(args, "bias_k") else 0) + (1 if args.get("add_zero_attn") else 0)
    packed = _has(args, "in_proj_weight")
    wq, wk, wv = ("in_proj_weight",) * 3 if packed else ("q_proj_weight", "k_proj_weight", "v_proj_weight")
    tokens_q, tokens_kv = b * length, b * s
    parts = [
        MacPart(tokens_q * e * e, e, "data_in_0", wq),
        MacPart(tokens_kv * e * kdim, kdim, "data_in_1", wk),
        MacPart(tokens_kv * e * vdim, vdim, "data_in_2", wv),
        MacPart(tokens_q * s_att * e, e, "data_in_0", "data_in_1"),
        MacPart(tokens_q * s_att * e, s_att, "data_in_0", "data_in_2"),
        MacPart(tokens_q * e * e, e, "data_in_0", "out_proj_weight"),
    ]
    heads = int(args.get("num_heads") or 1)
    scores = b * heads * length * s_att
    biases = (tokens_q + 2 * tokens_kv) * e if _has(args, "in_proj_bias") else 0
    biases += tokens_q * e if _has(args, "out_proj_bias") else 0
    return OpCost(parts, biases + 2 * scores,
                  f"B {b} x L {length} x S {s_att} x E {e} (kdim {kdim}, vdim {vdim}, {heads} heads)")


def shifted_window_attention(args: dict, results: dict):
    """torchvision's ``shifted_window_attention(input [B, H, W, C], qkv_weight [3C, C],
    proj_weight [C, C], relative_position_bias, window_size, num_heads, ...)``, which torchvision
    keeps as one fx node. The input is padded to whole windows of N = wh x ww tokens; every
    padded token is projected and attends to the N tokens of its window."""
    x = shape_of(args, "data_in_0")
    c = shape_of(args, "data_in_1")[1]
    window = args.get("window_size") or args.get("arg_4")
    if not isinstance(window, (list, tuple)) or len(window) != 2:
            raise MissingShape("window_size")
    wh, ww = int(window[0]), int(window[1])
    b, h, w = x[0], x[1], x[2]
    ph, pw = -(-h // wh) * wh, -(-w // ww) * ww
    tokens, n = b * ph * pw, wh * ww
    parts = [
        MacPart(tokens * 3 * c * c, c, "data_in_0", "data_in_1"),
        MacPart(tokens * n * c, c // max(1, int(args.get("num_heads") or args.get("arg_5") or 1)), "data_in_0", "data_in_0"),
        MacPart(tokens * n * c, n, "data_in_0", "data_in_0"),
        MacPart(tokens * c * c, c, "data_in_0", "data_in_2"),
    ]
    heads = int(args.get("num_heads") or args.get("arg_5") or 1)
    scores = tokens * n * heads
    return OpCost(parts, 3 * scores + 4 * tokens * c,
                  f"B {b} x padded {ph}x{pw} ({tokens} tokens) x window {wh}x{ww} x C {c}")


def _batch_and_length(shape: list[int], batch_first: bool) -> tuple[int, int]:
    if len(shape) == 2:
        return 1, shape[0]
    return (shape[0], shape[1]) if batch_first else (shape[1], shape[0])


def transformer(args: dict, results: dict) -> OpCost:
    """nn.TransformerEncoderLayer / TransformerEncoder / TransformerDecoderLayer /
    TransformerDecoder / Transformer (fx keeps each as one node). Every linear weight (2-D
    parameter) is applied once per token of the stream it reads: encoder weights to the source
    tokens, decoder weights to the target tokens, except the cross-attention key/value rows,
    which read the memory. Each attention adds 2 x B x L x S x E MACs (QK^T and AV); masks and
    causal flags do not change them (the math kernel computes every score)."""
    weights = {k: v for k, v in args.items() if is_tensor_entry(v) and len(v["shape"]) == 2 and "weight" in k}
    in_proj = [k for k in weights if k.endswith("in_proj_weight")]
    if not in_proj:
        raise MissingShape("in_proj_weight")
    e = int(weights[in_proj[0]]["shape"][1])
    batch_first = bool(args.get("batch_first"))
    full = any(k.startswith("encoder") for k in weights) and any(k.startswith("decoder") for k in weights)
    decoder_only = not full and any("multihead_attn" in k for k in weights)
    b, first_len = _batch_and_length(shape_of(args, "data_in_0"), batch_first)
    src_len = tgt_len = mem_len = first_len
    if full:  # Transformer(src, tgt): the decoder's memory is the encoder output
        tgt_len = _batch_and_length(shape_of(args, "data_in_1"), batch_first)[1]
    elif decoder_only:  # decoder(tgt, memory)
        mem_len = _batch_and_length(shape_of(args, "data_in_1"), batch_first)[1]
    parts: list[MacPart] = []
    attention = 0
    for name, entry in weights.items():
        rows, cols = int(entry["shape"][0]), int(entry["shape"][1])
        on_decoder = decoder_only or (full and name.startswith("decoder"))
        length = tgt_len if on_decoder else src_len
        if "multihead_attn" in name and name.endswith("in_proj_weight"):  # cross attention
            parts.append(MacPart(b * length * e * cols, cols, "data_in_0", name))
            parts.append(MacPart(b * mem_len * (rows - e) * cols, cols, "data_in_0", name))
            attention += 2 * b * length * mem_len * e
            continue
        parts.append(MacPart(b * length * rows * cols, cols, "data_in_0", name))
        if name.endswith("in_proj_weight"):
            attention += 2 * b * length * length * e
    parts.append(MacPart(attention, e, "data_in_0", "data_in_0"))
    return OpCost(parts, 0, f"B {b} x src {src_len} x tgt {tgt_len} x E {e}, {len(in_proj)} attention blocks")

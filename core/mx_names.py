"""Names of the OCP MX quantisers. Outside core.quant (whose import loads torch) so that cost
and config code can use them torch-free."""

# element bits of each format
MX_WIDTHS: dict[str, int] = {
    "mxint8": 8,
    "mxfp8_e4m3": 8,
    "mxfp8_e5m2": 8,
    "mxfp6_e3m2": 6,
    "mxfp6_e2m3": 6,
    "mxfp4_e2m1": 4,
}
MX_ALIASES: dict[str, str] = {"mxfp4": "mxfp4_e2m1"}
MX_NAMES: tuple[str, ...] = tuple(MX_WIDTHS) + tuple(MX_ALIASES)
MX_SCALE_BITS = 8  # one E8M0 scale per block
MX_DEFAULT_BLOCK_SIZE = 32


def is_mx(name: object) -> bool:
    return isinstance(name, str) and name in MX_NAMES

"""mase-tui engine: MaseGraph, passes, quantisers, cost model, models and data.

Importing ``core`` is cheap: torch is only imported by the submodules that need it, so front
ends can draw before the heavy imports happen.
"""

__version__ = "0.1.0"

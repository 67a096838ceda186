"""Suite-wide settings.

The suite runs on 2 shared cores; tiny models train and run 10x faster with one torch thread
than with two contending ones, so every test process pins torch to one thread.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")


def pytest_configure(config):
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(1)

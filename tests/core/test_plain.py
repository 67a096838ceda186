"""core.utils.plain.to_plain: JSON-safe copies of infos and metadata."""

from __future__ import annotations

import json

import numpy as np
import torch

from core.utils.plain import to_plain


def test_to_plain():
    info = {1: (torch.float32, torch.device("cpu")), "t": torch.tensor([[1, 2]]), "a": np.array([0.5]),
            "n": [None, True, 3, 2.5, "s"], "nested": {"size": torch.Size([2, 3])}}
    plain = to_plain(info)
    assert plain == {"1": ["torch.float32", "cpu"], "t": [[1, 2]], "a": [0.5],
                     "n": [None, True, 3, 2.5, "s"], "nested": {"size": [2, 3]}}
    assert json.loads(json.dumps(plain)) == plain
    assert info["t"].tolist() == [[1, 2]]  # the input is copied, not changed

"""JSC (jet substructure classification) networks, layer for layer as in MASE.

MASE writes ``nn.ReLU(16)``: the positional argument is ``inplace``, so those ReLUs are in-place.
We keep that, because users compare our graphs and reports with MASE's.
"""

from __future__ import annotations

from torch import nn

JSC_FEATURES = 16
JSC_CLASSES = 5


class JSC_Tiny(nn.Module):
    def __init__(self, num_features: int = JSC_FEATURES, num_classes: int = JSC_CLASSES) -> None:
        super().__init__()
        self.seq_blocks = nn.Sequential(
            nn.BatchNorm1d(num_features),
            nn.ReLU(True),
            nn.Linear(num_features, num_classes),
            nn.ReLU(True),
        )

    def forward(self, x):
        return self.seq_blocks(x)


class JSC_Toy(nn.Module):
    def __init__(self, num_features: int = JSC_FEATURES, num_classes: int = JSC_CLASSES) -> None:
        super().__init__()
        self.seq_blocks = nn.Sequential(
            nn.BatchNorm1d(num_features),
            nn.ReLU(True),
            nn.Linear(num_features, 8),
            nn.BatchNorm1d(8),
            nn.ReLU(True),
            nn.Linear(8, 8),
            nn.BatchNorm1d(8),
            nn.ReLU(True),
            nn.Linear(8, num_classes),
            nn.BatchNorm1d(num_classes),
            nn.ReLU(True),
        )

    def forward(self, x):
        return self.seq_blocks(x)


class JSC_S(nn.Module):
    """LogicNets-style JSC-S: widths 16-64-32-32-32-5, traced as module_list_0..13."""

    def __init__(self, num_features: int = JSC_FEATURES, num_classes: int = JSC_CLASSES) -> None:
        super().__init__()
        widths = [num_features, 64, 32, 32, 32, num_classes]
        layers: list[nn.Module] = [
            nn.BatchNorm1d(widths[0]),
            nn.ReLU(True),
            nn.Linear(widths[0], widths[1]),
            nn.BatchNorm1d(widths[1]),
            nn.ReLU(True),
        ]
        for i in range(1, len(widths) - 2):
            layers += [nn.Linear(widths[i], widths[i + 1]), nn.ReLU(True)]
        layers += [nn.Linear(widths[-2], widths[-1]), nn.BatchNorm1d(widths[-1]), nn.ReLU(True)]
        self.module_list = nn.ModuleList(layers)

    def forward(self, x):
        for layer in self.module_list:
            x = layer(x)
        return x


class JSC_MLP(nn.Module):
    """The hls4ml 16-64-32-32-5 three-layer model (functional ReLUs, logits out)."""

    def __init__(self, num_features: int = JSC_FEATURES, num_classes: int = JSC_CLASSES) -> None:
        super().__init__()
        self.fc1 = nn.Linear(num_features, 64)
        self.fc2 = nn.Linear(64, 32)
        self.fc3 = nn.Linear(32, 32)
        self.fc4 = nn.Linear(32, num_classes)
        self.act = nn.ReLU()

    def forward(self, x):
        x = self.act(self.fc1(x))
        x = self.act(self.fc2(x))
        x = self.act(self.fc3(x))
        return self.fc4(x)

"""Small test networks: an MLP with size/view, a functional kitchen sink, and a small CNN."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ToyNet(nn.Module):
    """MLP over flattened images; the forward uses ``x.size`` and ``x.view`` as MASE's ToyNet."""

    def __init__(self, image_size=(1, 28, 28), num_classes: int = 10) -> None:
        super().__init__()
        in_features = int(torch.tensor(image_size).prod())
        self.in_features = in_features
        self.seq_blocks = nn.Sequential(
            nn.Linear(in_features, 100),
            nn.ReLU(),
            nn.Linear(100, 100),
            nn.ReLU(),
            nn.Linear(100, num_classes),
        )

    def forward(self, x):
        batch = x.size(0)
        x = x.view(batch, -1)
        return self.seq_blocks(x)


class ToyFnNet(nn.Module):
    """Exercises functional ops: relu, add/mul/sub with tensors and scalars, matmul, bmm,
    conv1d, conv2d, pooling, a tensor constant and views.

    Input: ``x`` of shape [B, 3 * 8 * 8]. Output: [B, num_classes].
    """

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.fc = nn.Linear(192, 192)
        self.act = nn.ReLU()
        self.conv_w = nn.Parameter(torch.randn(4, 3, 3, 3) * 0.2)
        self.conv1d_w = nn.Parameter(torch.randn(4, 4, 3) * 0.2)
        self.head = nn.Linear(16, num_classes)

    def forward(self, x):
        x = torch.flatten(x, 1)
        y = self.act(self.fc(x))
        y = F.relu(y)
        y = y + x
        y = y + 2
        y = y * 0.5
        y = y * x
        y = y - x
        y = y - 1
        b = y.size(0)
        img = y.view(b, 3, 8, 8)
        img = F.conv2d(img, self.conv_w, padding=1)
        img = F.adaptive_avg_pool2d(img, (4, 4))
        seq = img.view(b, 4, 16)
        seq = F.conv1d(seq, self.conv1d_w, padding=1)
        m = torch.matmul(seq, torch.ones(16, 4))
        m = m.view(b, 4, 4)
        m = torch.bmm(m, m)
        return self.head(m.view(b, 16))


class ToyCNN(nn.Module):
    """Two conv blocks and a linear head over 3x32x32 images (the 'small_convnet' of the notes)."""

    def __init__(self, num_classes: int = 10, in_channels: int = 3) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 16, 3, padding=1),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.BatchNorm2d(32),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.flatten = nn.Flatten()
        self.classifier = nn.Linear(32 * 8 * 8, num_classes)

    def forward(self, x):
        return self.classifier(self.flatten(self.features(x)))

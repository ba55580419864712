"""Training losses: cross-entropy with class weights and label smoothing; MSE or Huber."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .config import LossConfig


def balanced_weights(y: np.ndarray, n_classes: int) -> np.ndarray:
    """n / (k * count) per class, as scikit-learn's class_weight='balanced'."""
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    return len(y) / (n_classes * np.maximum(counts, 1))


def make_loss(
    config: LossConfig, task: str, y_train: np.ndarray, n_classes: int | None
) -> nn.Module:
    """The loss for this task; class weights are computed from the training labels only."""
    if task == "classification":
        assert n_classes is not None
        weight = None
        if config.class_weights == "balanced":
            weight = torch.tensor(balanced_weights(y_train, n_classes), dtype=torch.float32)
        return nn.CrossEntropyLoss(weight=weight, label_smoothing=config.label_smoothing)
    if config.regression == "huber":
        return nn.HuberLoss(delta=config.huber_delta)
    return nn.MSELoss()

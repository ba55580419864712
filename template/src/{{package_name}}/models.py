"""The model family behind one factory and one inference interface.

- linear: logistic / ridge regression on scaled, one-hot features (the baseline)
- gbm:    scikit-learn's HistGradientBoosting on raw numbers and category codes (pragmatic)
- mlp:    a PyTorch multi-layer perceptron on scaled, one-hot features

`Predictor` wraps any of them with its fitted preprocessing, so `predict(frame)` takes the
raw feature columns and returns class probabilities (n, classes) or values (n,).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
import torch
from torch import nn

from .data import Schema

if TYPE_CHECKING:
    from sklearn.compose import ColumnTransformer

    from .config import Config, ModelName


def make_preprocessor(name: ModelName, schema: Schema) -> ColumnTransformer:
    """Fitted on training rows only: scaling + one-hot for linear/MLP, codes for trees."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    if name == "gbm":  # trees take NaN natively and categories as codes
        numeric: Any = "passthrough"
        categorical: Any = OrdinalEncoder(  # at most 250 codes: the trees' category limit
            handle_unknown="use_encoded_value", unknown_value=np.nan, max_categories=250
        )
    else:
        numeric = make_pipeline(
            SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
            StandardScaler(),
        )
        categorical = OneHotEncoder(
            handle_unknown="infrequent_if_exist", max_categories=32, sparse_output=False
        )
    return ColumnTransformer(
        [
            ("numeric", numeric, list(schema.numeric)),
            ("categorical", categorical, list(schema.categorical)),
        ],
        sparse_threshold=0.0,
        verbose_feature_names_out=False,
    )


class MLP(nn.Module):
    """Linear -> GELU -> Dropout blocks, then a linear head (logits, or one value)."""

    def __init__(self, inputs: int, hidden: list[int], outputs: int, dropout: float) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for width in hidden:
            layers += [nn.Linear(inputs, width), nn.GELU(), nn.Dropout(dropout)]
            inputs = width
        layers.append(nn.Linear(inputs, outputs))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def mlp_args(config: Config, inputs: int, n_classes: int | None) -> dict[str, Any]:
    """The constructor arguments of the MLP, kept in checkpoints so they rebuild themselves."""
    outputs = n_classes if n_classes is not None else 1
    return {
        "inputs": inputs,
        "hidden": list(config.model.mlp.hidden),
        "outputs": outputs,
        "dropout": config.model.mlp.dropout,
    }


# An optimizer update holds at most this share of the training rows (1/8: 8 updates an epoch).
MIN_UPDATES_PER_EPOCH = 8


def mlp_budget(
    rows: int, batch_size: int, accumulate: int, epochs: int, min_steps: int
) -> tuple[int, int]:
    """The (micro-batch size, epochs) of an MLP fit on `rows` training rows.

    On small data the configured batch would make an epoch one or two updates (220 rows at
    batch 256: 30 epochs, 30 steps), which leaves the MLP undertrained. So an update holds at
    most 1/8 of the rows (a power of two), and the epochs grow until the fit makes at least `min_steps` updates
    (early stopping still ends it sooner). Large data keeps the configured batch and epochs.
    """
    # The cap is a power of two, so any power-of-two accumulation splits it exactly: batch 64
    # and 32 x 2 make the same updates on the same rows, capped or not.
    cap = 1 << max(0, (rows // MIN_UPDATES_PER_EPOCH).bit_length() - 1)
    update = min(batch_size * accumulate, cap)
    batch = max(1, update // accumulate)
    updates_per_epoch = math.ceil(math.ceil(rows / batch) / accumulate)
    return batch, max(epochs, math.ceil(min_steps / updates_per_epoch))


def mlp_lr(lr: float, batch: int, configured_batch: int) -> float:
    """The learning rate for the batch `mlp_budget` picked: train.lr is set for the configured
    batch, and a smaller one gets lr * sqrt(batch / configured) (with accumulation the update
    shrinks by the same ratio).

    A smaller update has noisier gradients; for Adam the step that keeps training on the same
    path shrinks with the square root of the update's size (Malladi et al., 2022, "On the SDEs
    and scaling rules for adaptive gradient algorithms"). Measured by
    benchmarks/bench_candidates.py: on diabetes (353 rows) the MLP's 5-fold RMSE went from 56.08 ±
    4.32 to 53.92 ± 2.34 with the power-of-two budget (ridge: 53.30 ± 2.49), and it stays within
    one standard deviation of the best on the classification samples. Large data keeps train.lr.
    """
    return lr * math.sqrt(batch / configured_batch) if batch < configured_batch else lr


def make_estimator(config: Config, class_weight: str | None = None) -> Any:
    """The scikit-learn estimator of the linear or gbm model for this task."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.linear_model import LogisticRegression, Ridge

    name, classify = config.model.name, config.task == "classification"
    if name == "linear":
        if classify:
            return LogisticRegression(
                C=config.model.linear.C, max_iter=2000, class_weight=class_weight
            )
        return Ridge(alpha=config.model.linear.alpha)
    if name == "gbm":
        gbm = config.model.gbm
        common = {
            "max_iter": gbm.max_iter,
            "learning_rate": gbm.learning_rate,
            "max_leaf_nodes": gbm.max_leaf_nodes,
            "l2_regularization": gbm.l2_regularization,
            "early_stopping": True,
            "n_iter_no_change": 20,
            "random_state": config.seed,
        }
        if classify:
            return HistGradientBoostingClassifier(class_weight=class_weight, **common)
        return HistGradientBoostingRegressor(**common)
    raise ValueError(f"'{name}' is not a scikit-learn model")


@torch.no_grad()
def mlp_outputs(
    module: nn.Module,
    x: torch.Tensor,
    task: str,
    target_scale: tuple[float, float],
    batch_size: int = 8192,
) -> np.ndarray:
    """Batched MLP inference in eval mode: probabilities, or values on the target's scale.

    Each batch is copied to fresh memory and finished on its own (softmax included): the
    matrix kernels take other paths for an unaligned slice, and torch splits a large softmax
    among threads, both of which move the last bit of some rows. This way a row's output does
    not depend on the rows around it, and a file read in parts predicts the same bytes.
    """
    module.eval()
    device = next(module.parameters()).device
    mean, std = target_scale
    outputs = []
    for start in range(0, len(x), batch_size):
        out = module(x[start : start + batch_size].to(device, copy=True)).float()
        if task == "classification":
            outputs.append(torch.softmax(out, dim=1).cpu().numpy().astype(np.float64))
        else:
            outputs.append(out.squeeze(1).cpu().numpy().astype(np.float64) * std + mean)
    return np.concatenate(outputs)


@dataclass
class Predictor:
    """A fitted model with its preprocessing: raw feature frame in, predictions out."""

    name: ModelName
    task: str
    schema: Schema
    preprocessor: Any
    classes: tuple[Any, ...] | None
    estimator: Any = None  # scikit-learn models
    module: MLP | None = None  # the MLP
    target_scale: tuple[float, float] = (0.0, 1.0)  # regression targets are standardised

    def transform(self, frame: pl.DataFrame) -> np.ndarray:
        return np.asarray(self.preprocessor.transform(frame), dtype=np.float32)

    def predict(self, frame: pl.DataFrame, batch_size: int = 8192) -> np.ndarray:
        """Class probabilities (n, classes) or regression values (n,)."""
        x = self.transform(frame)
        if self.module is not None:
            return mlp_outputs(
                self.module, torch.from_numpy(x), self.task, self.target_scale, batch_size
            )
        return self.estimator_outputs(x)

    def estimator_outputs(self, x: np.ndarray) -> np.ndarray:
        """The scikit-learn model's predictions; probabilities get one column per class of the
        data, even for a class the training split lacked (its column stays 0)."""
        if self.task != "classification":
            return self.estimator.predict(x).astype(np.float64)
        proba = np.zeros((len(x), len(self.classes or ())))
        proba[:, self.estimator.classes_] = self.estimator.predict_proba(x)
        return proba

    def size_bytes(self) -> int:
        """Serialized size of the fitted model (weights or estimator), for the bake-off."""
        buffer = io.BytesIO()
        if self.module is not None:
            torch.save(self.module.state_dict(), buffer)
        else:
            import pickle

            pickle.dump(self.estimator, buffer)
        return buffer.tell()

    def save(self, path: Path) -> Path:
        """Everything but the MLP weights (they live in the checkpoint), via joblib."""
        import joblib

        module, self.module = self.module, None
        try:
            joblib.dump(self, path)
        finally:
            self.module = module
        return path

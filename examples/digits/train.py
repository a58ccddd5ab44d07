"""Tune an SGD classifier on scikit-learn's bundled digits data (no download).

Written exactly like a W&B sweep script; `import opensweep as wandb` is the only change.
Run it under an agent (`opensweep agent SWEEP_ID`) or on its own (`python train.py`).
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import opensweep as wandb

DEFAULTS = {"lr": 0.01, "alpha": 1e-4, "batch_size": 64, "loss": "log_loss", "epochs": 12}


def train() -> None:
    run = wandb.init(project="digits", config=DEFAULTS)
    config = wandb.config

    x, y = load_digits(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.3, random_state=0)
    scaler = StandardScaler().fit(x_train)
    x_train, x_val = scaler.transform(x_train), scaler.transform(x_val)
    classes = np.unique(y)
    rng = np.random.default_rng(0)

    model = SGDClassifier(
        loss=config.loss,
        alpha=config.alpha,
        learning_rate="constant",
        eta0=config.lr,
        random_state=0,
    )
    for epoch in range(config.epochs):
        order = rng.permutation(len(x_train))
        for start in range(0, len(order), config.batch_size):
            batch = order[start : start + config.batch_size]
            model.partial_fit(x_train[batch], y_train[batch], classes=classes)
        proba = np.clip(model.predict_proba(x_val), 1e-7, 1.0)
        proba /= proba.sum(axis=1, keepdims=True)
        wandb.log(
            {
                "epoch": epoch,
                "val/loss": float(log_loss(y_val, proba, labels=classes)),
                "val/acc": float((proba.argmax(axis=1) == y_val).mean()),
            }
        )
    run.finish()


if __name__ == "__main__":
    train()

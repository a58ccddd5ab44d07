"""Write the benchmark's trials into an Optuna RDB study (run with the benchmark venv's python,
so the storage schema matches the optuna-dashboard being measured).

    out/venv/bin/python build_optuna.py out/trials.json sqlite:///out/optuna.db
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution


def main() -> None:
    source, storage = sys.argv[1], sys.argv[2]
    data = json.loads(Path(source).read_text())
    dists = {
        "lr": FloatDistribution(1e-5, 1e-1, log=True),
        "batch_size": CategoricalDistribution([16, 32, 64, 128, 256]),
        "dropout": FloatDistribution(0.0, 0.5),
        "optimizer": CategoricalDistribution(["adam", "sgd", "rmsprop"]),
        "layers": IntDistribution(1, 8),
        "weight_decay": FloatDistribution(1e-6, 1e-2, log=True),
    }
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(storage=storage, study_name="bench", direction="minimize")
    trials = [
        optuna.trial.create_trial(params=t["params"], distributions=dists, value=t["loss"])
        for t in data["trials"]
    ]
    study.add_trials(trials)
    print(f"optuna study with {len(study.trials)} trials")


if __name__ == "__main__":
    main()

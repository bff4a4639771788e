"""What diverse training buys (notebook 08, section 4): notebook 07's model trained on the
16 fixed scenarios or on population-model infarcts with one budget, each tested on
held-out subjects with both kinds of infarct, beside the nearest-neighbour baseline.

:func:`population_samples` reads ``mi_population.zarr`` as the network's samples (one
per subject x infarct); :func:`same_budget` gives the second training as many samples as
the first; :func:`nearest_neighbour_across` is the baseline with its training pool in one
product and its test cases in another; :func:`generalisation_table` is the 2 x 2 table.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from ..inverse.baselines import nearest_neighbour, transfer_index
from ..inverse.data import QRS_WINDOW_MS, Samples, load_samples


def population_samples(product, *, n_points: int, qrs_length: int,
                       window_ms: float = QRS_WINDOW_MS) -> Samples:
    """:class:`~mi_lib.inverse.data.Samples` of a ``mi_population.zarr`` dataset: every
    infarct of every subject (the ``infarct`` dimension read as the samples' scenarios)."""
    ds = product.rename({"infarct": "scenario"})
    return load_samples(ds, n_points=n_points, qrs_length=qrs_length, window_ms=window_ms,
                        scenarios=[str(s) for s in ds.scenario.values])


def same_budget(training, n_reference: int, n_other: int):
    """``training`` (:class:`~mi_lib.inverse.training.TrainingSettings`) for samples of
    ``n_other`` cases per subject, with as many samples seen and the same decay per sample
    as with ``n_reference`` cases per subject: epochs and decay period scaled by
    ``n_reference / n_other`` (at least 1)."""
    f = n_reference / n_other
    return replace(training, epochs=max(1, round(training.epochs * f)),
                   decay_every=max(1, round(training.decay_every * f)))


def nearest_neighbour_across(train: Samples, train_rows, test: Samples, test_rows,
                             window: int | None = None) -> np.ndarray:
    """The nearest-neighbour baseline of notebook 07 (the training case whose prepared QRS
    is nearest by multivariate DTW, its labels carried through the coordinates) with the
    training cases from ``train`` and the test cases from ``test`` (two products of the
    same cohort). Returns maps ``(len(test_rows), C_test, N)``."""
    c_tr = train.qrs.shape[1]
    c_te = test.qrs.shape[1]
    train_q = train.qrs[train_rows].reshape(-1, *train.qrs.shape[2:])
    test_q = test.qrs[test_rows].reshape(-1, *test.qrs.shape[2:])
    index, _ = nearest_neighbour(test_q, train_q, window=window)
    maps = np.zeros((len(test_rows), c_te, test.labels.shape[2]), train.labels.dtype)
    cache = {}
    for k, i in enumerate(index):
        t, s = divmod(k, c_te)
        src, case = int(train_rows[i // c_tr]), int(i % c_tr)
        dst = int(test_rows[t])
        if (src, dst) not in cache:
            cache[src, dst] = transfer_index(train.features[src, :, 3:7],
                                             test.features[dst, :, 3:7])
        maps[t, s] = train.labels[src, case][cache[src, dst]]
    return maps


def generalisation_table(metrics: pd.DataFrame, columns=("scar_dice", "bz_dice", "aha_loc")
                         ) -> pd.DataFrame:
    """The 2 x 2 table: mean (and sd) of ``columns`` per method (``model``: what it was
    trained on and how it answers) and test set (``tested_on``) of a metrics table with
    those columns."""
    g = metrics.groupby(["model", "tested_on"])[list(columns)]
    table = g.mean().round(3).astype(str) + " ± " + g.std().round(3).astype(str)
    return table.unstack("tested_on")

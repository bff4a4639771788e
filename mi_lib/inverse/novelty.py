"""Is a QRS like the ones the network learnt from? A novelty score beside the posterior.

The posterior of :mod:`~mi_lib.inverse.uncertainty` samples the latent the encoder gives;
it cannot know that the encoder was never shown anything like its input, and on a real
recording it is no more uncertain than on simulated test cases (notebook 09). The score
here looks at the input itself: the root-mean-square distance of the prepared QRS
(``(8, T)``, the network's input, :func:`~mi_lib.inverse.data.prepare_qrs`) to its nearest
neighbour among the training set's QRS, read as a percentile of the same distance for
held-out cases of the training distribution (the validation split). A QRS beyond the
calibration cases' :data:`FLAG_QUANTILE` is flagged: out of distribution at a 1 % false
alarm rate on data like the calibration cases. Methods: ``docs/inverse/uncertainty.md``.
"""

from __future__ import annotations

import numpy as np

#: the calibration distances' quantile above which a QRS is flagged
FLAG_QUANTILE = 0.99


def nearest_distance(reference, queries, chunk: int = 512) -> np.ndarray:
    """RMS distance of each query ``(..., 8, T)`` to its nearest ``reference (n, 8, T)``
    (one value per query: ``sqrt(min_i mean((q - r_i)^2))``)."""
    ref = np.asarray(reference, np.float64).reshape(len(reference), -1)
    q = np.asarray(queries, np.float64)
    shape = q.shape[: q.ndim - 2]
    q = q.reshape(-1, ref.shape[1])
    if not len(ref):
        raise ValueError("no reference QRS to measure novelty against")
    rr = (ref**2).sum(axis=1)
    out = np.empty(len(q))
    for a in range(0, len(q), chunk):
        b = q[a:a + chunk]
        d2 = (b**2).sum(axis=1)[:, None] + rr[None, :] - 2.0 * b @ ref.T
        out[a:a + chunk] = np.sqrt(np.maximum(d2.min(axis=1), 0.0) / ref.shape[1])
    return out.reshape(shape)


class Novelty:
    """The nearest-training-QRS distance of a query, calibrated.

    Parameters
    ----------
    reference : (n, 8, T) array
        The training set's prepared QRS.
    calibration : (m, 8, T) array
        Held-out QRS of the training distribution (e.g. the validation split): their
        distances to ``reference`` are the score's null distribution.
    quantile : float
        Calibration quantile above which a query is flagged (:data:`FLAG_QUANTILE`).
    """

    def __init__(self, reference, calibration, quantile: float = FLAG_QUANTILE):
        if not 0 < quantile < 1:
            raise ValueError(f"quantile = {quantile}: must lie in (0, 1)")
        self.reference = np.asarray(reference, np.float64).reshape(
            -1, *np.shape(reference)[-2:])
        self.null = np.sort(nearest_distance(self.reference, calibration).ravel())
        self.quantile = float(quantile)
        self.threshold = float(np.quantile(self.null, quantile))

    @classmethod
    def of_samples(cls, samples, train_rows, calibration_rows,
                   quantile: float = FLAG_QUANTILE) -> Novelty:
        """The score of a :class:`~mi_lib.inverse.data.Samples`' training subjects (every
        scenario), calibrated on ``calibration_rows``' subjects."""
        qrs = samples.qrs
        return cls(qrs[np.asarray(train_rows, int)].reshape(-1, *qrs.shape[-2:]),
                   qrs[np.asarray(calibration_rows, int)].reshape(-1, *qrs.shape[-2:]),
                   quantile)

    def distance(self, qrs) -> np.ndarray:
        """Nearest-training-QRS RMS distance of ``qrs (..., 8, T)``."""
        return nearest_distance(self.reference, qrs)

    def percentile(self, qrs) -> np.ndarray:
        """Share of the calibration distances below each query's (0 to 1)."""
        return self.percentile_of(self.distance(qrs))

    def percentile_of(self, distance) -> np.ndarray:
        """:meth:`percentile` of distances already measured (:meth:`distance`)."""
        return np.searchsorted(self.null, distance, side="left") / len(self.null)

    def flagged(self, qrs) -> np.ndarray:
        """Whether each query's distance exceeds the calibration :attr:`threshold`."""
        return self.distance(qrs) > self.threshold


def novelty_table(novelty: Novelty, versions: dict, rows, robustness=None,
                  model: str = "main model"):
    """Per degraded version of the test QRS (``(perturbation, strength, level)`` ->
    :class:`~mi_lib.inverse.data.Samples`, :func:`~mi_lib.inverse.robustness.variants`):
    the median novelty percentile and the share of the cases (``rows`` x scenarios)
    flagged; with ``robustness`` (:func:`~mi_lib.inverse.robustness.robustness_table`),
    ``model``'s scar Dice on each version beside them (``<model> scar Dice``; the clean
    version's is every perturbation's level 0)."""
    import pandas as pd

    out = []
    for (kind, strength, level), s in versions.items():
        d = novelty.distance(s.qrs[np.asarray(rows, int)]).ravel()
        out.append({"perturbation": kind, "strength": strength, "level": level,
                    "median_percentile": float(np.median(novelty.percentile_of(d))),
                    "flagged": float((d > novelty.threshold).mean()), "n": int(d.size)})
    table = pd.DataFrame(out)
    if robustness is not None:
        own = robustness[robustness.model == model]
        dice = {(k, int(lv)): float(d) for k, lv, d in
                zip(own.perturbation, own.level, own.scar_dice, strict=True)}
        clean = float(own[own.level == 0].scar_dice.iloc[0])
        table[f"{model} scar Dice"] = [clean if int(lv) == 0 else dice[(k, int(lv))]
                                       for k, lv in zip(table.perturbation, table.level,
                                                        strict=True)]
    return table


__all__ = ["FLAG_QUANTILE", "Novelty", "nearest_distance", "novelty_table"]

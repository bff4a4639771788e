"""Figures of the twin's signals: QRS panels and the QRS sensitivity figures of notebook 06."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..ecg import LEADS
from ..qrs import PAPER_QRS_MS, PRECORDIAL


def qrs_panels(signals: dict, time=None, *, times: dict | None = None, normalise=True,
               title: str = "", styles: dict | None = None, xlim=None):
    """The 8 leads in a 2 x 4 grid, one line per entry of ``signals`` (name -> (8, T)).

    ``times`` gives each signal its own time axis (ms); ``normalise`` divides each signal
    by its largest absolute value over all leads (one scale per signal); ``xlim`` bounds
    the time axis.
    """
    fig, axes = plt.subplots(2, 4, figsize=(12, 4.6), sharex=True, sharey=normalise)
    for name, sig in signals.items():
        sig = np.asarray(sig, float)
        t = (times or {}).get(name, time)
        if t is None:
            t = np.arange(sig.shape[1])
        if normalise:
            sig = sig / max(np.abs(sig).max(), 1e-300)
        for i, ax in enumerate(axes.ravel()):
            ax.plot(t, sig[i], label=name, **(styles or {}).get(name, {}))
    for i, ax in enumerate(axes.ravel()):
        ax.set_title(LEADS[i], fontsize=10)
        ax.axhline(0, color="0.7", lw=0.5)
        if xlim is not None:
            ax.set_xlim(*xlim)
        if i >= 4:
            ax.set_xlabel("time (ms)")
    axes[0, 0].legend(fontsize=7, loc="upper left")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _tick(name: str, sep: str = "\n") -> str:
    return name.replace("_", sep)


def duration_boxes(readings: dict, scenarios, *, paper: dict = PAPER_QRS_MS,
                   column: str = "qrs_duration_ms", ylabel: str = "QRS duration (ms)", ax=None):
    """QRS duration per scenario as boxes over subjects, one colour per reading of the
    scar (``{name: criteria_table}``), with the paper's durations as red stars;
    ``column`` names another duration column of the tables."""
    if ax is None:
        _, ax = plt.subplots(figsize=(12, 3.8))
    scenarios, k_n = list(scenarios), len(readings)
    step = k_n + 1
    for k, (name, table) in enumerate(readings.items()):
        dur = table[column].unstack("scenario")[scenarios]
        ax.boxplot([dur[c].values for c in scenarios], positions=np.arange(len(scenarios)) * step + k,
                   widths=0.8, patch_artist=True, boxprops={"facecolor": f"C{k}"}, label=name)
    centre = (k_n - 1) / 2
    shown = [c for c in paper if c in scenarios]
    ax.plot([step * scenarios.index(c) + centre for c in shown], [paper[c] for c in shown],
            "r*", ms=10, label="paper")
    ax.set_xticks(np.arange(len(scenarios)) * step + centre, [_tick(c) for c in scenarios],
                  fontsize=7)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    ax.figure.tight_layout()
    return ax.figure


def dtw_heatmap(dtw_mean, ax=None, title: str = "Fig. 7a: scenario vs baseline, lead by lead"):
    """A (scenario x lead) table of DTW to the baseline as an annotated heat map."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 0.38 * len(dtw_mean) + 1.5))
    values = np.asarray(dtw_mean, float)
    im = ax.imshow(values, cmap="magma_r", aspect="auto")
    ax.set_xticks(range(values.shape[1]), list(dtw_mean.columns))
    ax.set_yticks(range(len(dtw_mean)), [_tick(s, " ") for s in dtw_mean.index], fontsize=8)
    for (i, j), v in np.ndenumerate(values):
        ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7,
                color="white" if v > 0.6 * values.max() else "black")
    ax.figure.colorbar(im, ax=ax, label="DTW to baseline (mean over subjects)")
    ax.set_title(title)
    ax.figure.tight_layout()
    return ax.figure


def scenario_dtw_maps(pair_dtw, scenarios):
    """Paper Fig. 7b: subject-mean DTW between every two scenarios, the largest over the
    leads and their mean, from :func:`mi_lib.twin.qrs.scenario_dtw`."""
    pair_dtw = np.asarray(pair_dtw)
    labels = [_tick(s, " ") for s in scenarios]
    fig, axes = plt.subplots(1, 2, figsize=(14, 6.2))
    for ax, m, title in zip(axes, (pair_dtw.max(axis=3).mean(axis=0),
                                   pair_dtw.mean(axis=3).mean(axis=0)),
                            ("max over leads", "mean over leads"), strict=True):
        im = ax.imshow(m, cmap="viridis")
        ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
        ax.set_yticks(range(len(labels)), labels, fontsize=7)
        ax.set_title(f"Fig. 7b: DTW between scenarios, {title}")
        fig.colorbar(im, ax=ax, shrink=0.7)
    fig.tight_layout()
    return fig


def precordial_panels(signals: dict, time, *, reference: str = "baseline", xlim=None,
                      title: str = ""):
    """V1-V6 side by side, one line per entry of ``signals`` (name -> (8, T) in
    :data:`~mi_lib.twin.ecg.LEADS` order); ``reference`` is drawn black and thick."""
    fig, axes = plt.subplots(1, len(PRECORDIAL), figsize=(15, 3.4), sharey=True)
    for name, sig in signals.items():
        style = {"color": "k", "lw": 1.5} if name == reference else {"lw": 0.9}
        for ax, lead in zip(axes, PRECORDIAL, strict=True):
            ax.plot(time, np.asarray(sig)[LEADS.index(lead)], label=name, **style)
    for ax, lead in zip(axes, PRECORDIAL, strict=True):
        ax.set_title(lead)
        ax.axhline(0, color="0.8", lw=0.5)
        if xlim is not None:
            ax.set_xlim(*xlim)
    axes[0].legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def r_progression(amplitudes: dict, *, threshold: float | None = None, reference: str = "baseline",
                  title: str = "R-wave progression", ax=None):
    """R amplitude (relative to the largest precordial R) across V1-V6, one line per entry
    of ``amplitudes`` (name -> six values); ``threshold`` marks the R(V3) criterion."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 3.8))
    x = np.arange(1, len(PRECORDIAL) + 1)
    for name, r in amplitudes.items():
        style = {"color": "k", "lw": 2} if name == reference else {"ms": 3}
        ax.plot(x, np.asarray(r, float), "-o", label=name, **style)
    if threshold is not None:
        ax.axhline(threshold, color="r", ls=":", label="R(V3) threshold")
    ax.set_xticks(x, PRECORDIAL)
    ax.set_ylabel("R / max precordial R")
    ax.set_title(title)
    ax.legend(fontsize=7, ncol=2)
    ax.figure.tight_layout()
    return ax.figure

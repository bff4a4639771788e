"""The cohort sensitivity analysis: scenario-by-scenario DTW, new signs against the
baseline, the summaries set beside the paper's, and the ``sensitivity.nc`` product.

Method and references: ``docs/twin/qrs.md``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..ecg import LEADS
from ..scenarios import get_scenario
from .bounds import qrs_duration
from .dtw import dtw_matrix
from .thresholds import DEFAULTS, PRECORDIAL, Thresholds

# ---------------------------------------------------------------------- cohort analysis


def scenario_dtw(qrs, durations, *, baseline: str = "baseline", penalty: float = 0.0,
                 t_end: float | None = None, **dtw_kwargs) -> np.ndarray:
    """DTW between every pair of scenarios of every subject (paper Fig. 7b).

    Parameters
    ----------
    qrs : xarray.DataArray (subject, scenario, lead, time)
        The ``qrs`` of ``simulations.zarr``.
    durations : pandas.DataFrame (subject x scenario), ms
        QRS durations (e.g. ``criteria_table(...)["qrs_duration_ms"].unstack("scenario")``).
    baseline : str
        Scenario whose largest absolute value scales each subject's signals (the
        ``"reference"`` normalisation of :func:`dtw_leads`).
    penalty : float
        DTW units per ms of duration difference.
    t_end : float, ms, optional
        Signals are cut after this time (e.g. the latest QRS offset plus a margin).

    Returns
    -------
    (subject, scenario, scenario, lead) float array
    """
    scenarios = [str(s) for s in qrs.scenario.values]
    dt = float(qrs.time[1] - qrs.time[0])
    n_t = qrs.sizes["time"] if t_end is None else min(int(np.ceil(t_end / dt)) + 1,
                                                       qrs.sizes["time"])
    out = np.zeros((qrs.sizes["subject"], len(scenarios), len(scenarios), qrs.sizes["lead"]))
    for i, s in enumerate(qrs.subject.values):
        x = np.asarray(qrs.sel(subject=s).values, dtype=np.float64)[:, :, :n_t]
        scale = float(np.abs(x[scenarios.index(baseline)]).max())
        out[i] = dtw_matrix(x, durations.loc[s, scenarios].values, penalty=penalty,
                            scale=scale, **dtw_kwargs)
    return out


def _flag_columns(table: pd.DataFrame, prefix: str) -> list[str]:
    """Leads with a ``<prefix><lead>`` column in a :func:`criteria_table`."""
    skip = ("q_ratio", "q_leads", "q_contig") if prefix == "q_" else ()
    return [c[len(prefix):] for c in table.columns
            if c.startswith(prefix) and not c.startswith(skip)]


def new_signs(table: pd.DataFrame, baseline: str = "baseline") -> dict[str, pd.DataFrame]:
    """Signs that appear against each subject's own baseline, per lead.

    ``table`` is a :func:`criteria_table` indexed by (subject, scenario). Returns
    ``{"q": ..., "notch": ...}``: boolean frames indexed like ``table``, one column per
    lead, True where the scenario has a pathological Q wave the baseline has not, or more
    notches than the baseline.
    """
    if table.index.names != ["subject", "scenario"]:
        raise ValueError("table must be indexed by (subject, scenario), as criteria_table "
                         "makes it from simulations.zarr's qrs")
    base = table.xs(baseline, level="scenario")
    subjects = table.index.get_level_values("subject")
    out = {}
    for name, prefix in (("q", "q_"), ("notch", "notches_")):
        leads = _flag_columns(table, prefix)
        cur = table[[prefix + lead for lead in leads]]
        ref = base.loc[subjects, [prefix + lead for lead in leads]].to_numpy()
        new = (cur.to_numpy().astype(bool) & ~ref.astype(bool)) if name == "q" \
            else cur.to_numpy() > ref
        out[name] = pd.DataFrame(new, index=table.index, columns=leads)
    return out


def sensitivity_dataset(table: pd.DataFrame, pair_dtw: np.ndarray, *, penalty: float,
                        thresholds: Thresholds = DEFAULTS, source: str = ""):
    """``sensitivity.nc`` (layout in ``data/README.md``) from a (subject, scenario)
    :func:`criteria_table` with DTW columns and :func:`scenario_dtw`."""
    import xarray as xr

    subjects = list(dict.fromkeys(table.index.get_level_values("subject")))
    scenarios = list(dict.fromkeys(table.index.get_level_values("scenario")))
    ext = _flag_columns(table, "q_")
    precordial = list(PRECORDIAL)

    def grid(column, dtype=float):
        return table[column].unstack("scenario").loc[subjects, scenarios].to_numpy(dtype)

    def per_lead(fmt, leads, dtype=float):
        return np.stack([grid(fmt.format(lead), dtype) for lead in leads], axis=-1)

    ss = ("subject", "scenario")
    return xr.Dataset(
        {"qrs_onset": (ss, grid("onset_ms"), {"units": "ms"}),
         "qrs_offset": (ss, grid("offset_ms"), {"units": "ms"}),
         "qrs_duration": (ss, grid("qrs_duration_ms"), {"units": "ms"}),
         "dtw": (ss + ("lead",), per_lead("dtw_{}", LEADS)),
         "q_ratio": (ss + ("ext_lead",), per_lead("q_ratio_{}", ext)),
         "q_flag": (ss + ("ext_lead",), per_lead("q_{}", ext, bool).astype(np.int8)),
         "q_contiguous": (ss, grid("q_contiguous", bool).astype(np.int8)),
         "r_amplitude": (ss + ("precordial",), per_lead("r_{}", precordial)),
         "prwp": (ss, grid("prwp", bool).astype(np.int8)),
         "notches": (ss + ("ext_lead",), per_lead("notches_{}", ext)),
         "fqrs": (ss, grid("fqrs", bool).astype(np.int8)),
         "dtw_pair_max": (("scenario", "scenario2"), pair_dtw.max(axis=3).mean(axis=0)),
         "dtw_pair_mean": (("scenario", "scenario2"), pair_dtw.mean(axis=3).mean(axis=0))},
        coords={"subject": subjects, "scenario": scenarios, "scenario2": scenarios,
                "lead": list(LEADS), "ext_lead": ext, "precordial": precordial},
        attrs={"penalty_per_ms": float(penalty), "simulations": str(source),
               **{f"threshold_{k}": (v if isinstance(v, str) else float(v))
                  for k, v in thresholds.__dict__.items()}})


# ----------------------------------------------------------------- cohort summaries

PAPER_QRS_MS = {"baseline": 90.4, "apical_transmural": 124.1,
                "inferolateral_transmural": 107.7, "lateral_transmural": 99.5,
                "lateral_transmural_slow": 113.8}
"""QRS durations paper 004 reports (§IV-B, ms): its healthy cohort, apical and
inferolateral infarcts, and the large transmural lateral infarct without and with the
slower conduction."""


def duration_summary(table: pd.DataFrame, scenarios=None, *, column: str = "qrs_duration_ms",
                     label: str = "QRS") -> pd.DataFrame:
    """QRS duration on the signal per scenario (mean, sd, min, max over subjects) beside
    :data:`PAPER_QRS_MS`, from a (subject, scenario) :func:`criteria_table`.

    ``column`` names another duration of the table (e.g. the activation duration),
    ``label`` heads its columns.
    """
    dur = table[column].unstack("scenario")
    scenarios = list(dur.columns) if scenarios is None else list(scenarios)
    dur = dur[scenarios]
    return pd.DataFrame({f"{label} mean (ms)": dur.mean(), f"{label} sd (ms)": dur.std(ddof=0),
                         "min": dur.min(), "max": dur.max(),
                         "paper (ms)": pd.Series(PAPER_QRS_MS, dtype=float)}).loc[scenarios]


def prevalence(table: pd.DataFrame, thresholds: Thresholds = DEFAULTS,
               baseline: str = "baseline", prolongation_ms: float = 10.0) -> pd.DataFrame:
    """Share of subjects meeting each criterion, per scenario (rows in table order).

    ``table`` is a (subject, scenario) :func:`criteria_table`. Columns: a wide QRS
    (``>= thresholds.wide_qrs_ms``), prolongation by ``prolongation_ms`` against the
    subject's baseline, pathological Q waves in two contiguous leads, a Q wave new against
    the baseline in any lead, poor R-wave progression, fragmented QRS, and a notch new
    against the baseline in any lead (:func:`new_signs`).
    """
    scenarios = list(dict.fromkeys(table.index.get_level_values("scenario")))
    base = table.xs(baseline, level="scenario")["qrs_duration_ms"]
    subjects = table.index.get_level_values("subject")
    dur = table["qrs_duration_ms"]
    new = new_signs(table, baseline)
    flags = pd.DataFrame({
        f"QRS >= {thresholds.wide_qrs_ms:g} ms": dur >= thresholds.wide_qrs_ms,
        f"QRS +{prolongation_ms:g} ms vs baseline":
            dur.to_numpy() - base.loc[subjects].to_numpy() >= prolongation_ms,
        "Q waves (2 contiguous)": table["q_contiguous"].astype(bool),
        "new Q wave (any lead)": new["q"].any(axis=1),
        "poor R progression": table["prwp"].astype(bool),
        "fragmented QRS": table["fqrs"].astype(bool),
        "new notch (any lead)": new["notch"].any(axis=1)}, index=table.index)
    return flags.astype(float).groupby(level="scenario").mean().loc[scenarios]


def dtw_to_baseline(table: pd.DataFrame, scenarios=None, baseline: str = "baseline"
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mean and standard deviation over subjects of each lead's DTW to the baseline
    (paper Fig. 7a): two (scenario x lead) frames, the baseline left out.

    ``table`` is a (subject, scenario) :func:`criteria_table` made with a ``reference``
    (its ``dtw_<lead>`` columns); ``scenarios`` orders the rows (default: table order).
    """
    columns = [c for c in table.columns if c.startswith("dtw_")]
    if not columns:
        raise ValueError("table has no dtw_<lead> columns: make it with "
                         "criteria_table(..., reference={'scenario': 'baseline'})")
    dtw = table[columns].rename(columns=lambda c: c[len("dtw_"):])
    order = list(dict.fromkeys(table.index.get_level_values("scenario"))) \
        if scenarios is None else list(scenarios)
    order = [s for s in order if s != baseline]
    grouped = dtw.groupby(level="scenario")
    return grouped.mean().loc[order], grouped.std(ddof=0).loc[order]


def closest_pairs(pair_dtw: np.ndarray, scenarios, n: int = 8) -> pd.DataFrame:
    """The ``n`` scenario pairs hardest to tell apart: the smallest subject-mean of the
    largest lead DTW between them (paper Fig. 7b), from :func:`scenario_dtw`."""
    m = np.asarray(pair_dtw).max(axis=3).mean(axis=0)
    scenarios = list(scenarios)
    if m.shape != (len(scenarios), len(scenarios)):
        raise ValueError(f"pair_dtw covers {m.shape[0]} scenarios, {len(scenarios)} named")
    i, j = np.triu_indices(len(scenarios), k=1)
    order = np.argsort(m[i, j], kind="stable")[:n]
    return pd.DataFrame({"scenario": [scenarios[k] for k in i[order]],
                         "scenario 2": [scenarios[k] for k in j[order]],
                         "DTW max": m[i[order], j[order]]})


def leads_per_location(table: pd.DataFrame, baseline: str = "baseline", *,
                       suffix: str = "_transmural", top: int = 3, q_share: float = 0.5,
                       r_loss: float = 0.25) -> pd.DataFrame:
    """Which leads see each infarct location (the paper's §IV-B reading of Fig. 7a).

    For every scenario whose name ends with ``suffix``, in table order: its location,
    the ``top`` leads with the largest mean DTW to the baseline, the leads where a new
    pathological Q wave appears in at least ``q_share`` of the subjects, and the
    precordial leads whose R amplitude (relative to the largest precordial R) falls by
    more than ``r_loss`` on average against the subject's own baseline.
    """
    dtw_mean, _ = dtw_to_baseline(table, baseline=baseline)
    new_q = new_signs(table, baseline)["q"].groupby(level="scenario").mean()
    base = table.xs(baseline, level="scenario")
    r_cols = [f"r_{lead}" for lead in PRECORDIAL]
    rows = []
    for sc in dict.fromkeys(table.index.get_level_values("scenario")):
        if not sc.endswith(suffix):
            continue
        drop = (base[r_cols] - table.xs(sc, level="scenario")[r_cols]).mean()
        rows.append({"scenario": sc, "location": get_scenario(sc).location,
                     "largest DTW": ", ".join(dtw_mean.loc[sc].sort_values(
                         ascending=False, kind="stable").index[:top]),
                     "new Q waves": ", ".join(l for l in new_q.columns
                                              if new_q.loc[sc, l] >= q_share) or "-",
                     "R loss": ", ".join(c[2:] for c in r_cols if drop[c] > r_loss) or "-"})
    return pd.DataFrame(rows).set_index("scenario")


def durations_by_reading(readings: dict, scenarios=None) -> pd.DataFrame:
    """Mean QRS duration per scenario under each reading of the scar (``{name:
    criteria_table}``, e.g. ``silent`` and ``slow``), beside :data:`PAPER_QRS_MS`."""
    out = pd.concat({name: duration_summary(t, scenarios)["QRS mean (ms)"]
                     for name, t in readings.items()}, axis=1)
    out = out.add_prefix("QRS mean, ").add_suffix(" (ms)")
    return out.assign(**{"paper (ms)": pd.Series(PAPER_QRS_MS, dtype=float)})


def healthy_qrs_by_source(ds, thresholds: Thresholds = DEFAULTS) -> pd.DataFrame:
    """The healthy QRS duration on the signal of each source heart of a
    ``simulations.zarr``: the unmodified mesh (the subject whose shape modes are all zero)
    and the spread over the virtual subjects made from it.

    Returns one row per source (its folder or file name) with ``subjects``, ``mesh (ms)``,
    ``cohort mean (ms)``, ``sd``, ``min`` and ``max``.
    """
    base = ds["qrs"].sel(scenario="baseline")
    dt = float(ds["time"][1] - ds["time"][0])
    sources = [str(s) for s in ds["source"].values]
    modes = np.asarray(ds["shape_modes"].values)
    dur = np.array([qrs_duration(base.isel(subject=i).values, dt,
                                 threshold=thresholds.onset_threshold,
                                 smooth_ms=thresholds.smooth_ms,
                                 max_gap_ms=thresholds.max_gap_ms)
                    for i in range(len(sources))])
    rows = {}
    for src in dict.fromkeys(sources):
        idx = np.array([i for i, s in enumerate(sources) if s == src])
        own = [i for i in idx if not np.any(modes[i])]
        d = dur[idx]
        name = src.rstrip("/").replace("\\", "/").split("/")[-1]
        rows[name] = {"subjects": len(idx), "mesh (ms)": dur[own[0]] if own else np.nan,
                      "cohort mean (ms)": d.mean(), "sd": d.std(), "min": d.min(),
                      "max": d.max()}
    return pd.DataFrame(rows).T.astype({"subjects": int})

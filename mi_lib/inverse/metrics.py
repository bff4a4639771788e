"""Paper 004's evaluation of per-point tissue maps: Dice, precision and recall of scar and
border zone, the AHA-loc localisation score (its Eq. 12), and its Table I.

A map is one label per point of a cloud: :data:`HEALTHY`, :data:`BORDER_ZONE`,
:data:`SCAR`. :func:`sample_metrics` scores one predicted map against the truth
(:data:`METRIC_COLUMNS`); :func:`table1` averages a table of them per model, transmurality
and location as the paper's Table I, which :data:`PAPER_TABLE1` holds for comparison.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial import ConvexHull, QhullError

HEALTHY, BORDER_ZONE, SCAR = 0, 1, 2
#: weights of AHA-loc's terms: same centre segment, IoU of the segment sets, 1 - distance
AHA_LOC_WEIGHTS = (0.5, 0.2, 0.3)

METRIC_COLUMNS = ("scar_dice", "scar_precision", "scar_recall",
                  "bz_dice", "bz_precision", "bz_recall", "aha_loc")

#: our scenario locations, in the order of the paper's Table I rows
LOCATIONS = ("septal", "apical", "anterior_extensive", "anterior_limited", "lateral",
             "lateral_small", "inferior", "inferolateral")
#: transmuralities in the order of the paper's Table I blocks
TRANSMURALITIES = ("subendocardial", "transmural")
#: the location and transmurality of Table I's average rows ("all": the overall average)
AVERAGE, ALL = "average", "all"


# --- Dice, precision, recall ----------------------------------------------------------


def segmentation_scores(pred, true, label: int) -> dict:
    """Dice, precision and recall of the class ``label`` over the points of a map.

    With TP, FP, FN the points that are ``label`` in both maps, in ``pred`` only and in
    ``true`` only: precision = TP / (TP + FP), recall = TP / (TP + FN), dice =
    2 TP / (2 TP + FP + FN). The empty cases: both maps without ``label`` -> all three
    1.0; ``pred`` without ``label`` (``true`` with) -> all three 0.0; ``true`` without
    ``label`` (``pred`` with) -> recall 1.0 (nothing to find), precision 0.0, dice 0.0.

    Parameters
    ----------
    pred, true : (..., n) int array
        Predicted and true labels; leading axes (e.g. samples ``(S, n)``) are kept.
    label : int
        The class scored (:data:`SCAR`, :data:`BORDER_ZONE`, ...).

    Returns
    -------
    dict
        ``dice``, ``precision``, ``recall``: floats for 1-D maps, else arrays of the
        leading shape.
    """
    pred, true = np.asarray(pred), np.asarray(true)
    if pred.shape != true.shape or pred.ndim == 0:
        raise ValueError(f"pred and true must be label arrays of one shape (..., n), got "
                         f"{pred.shape} and {true.shape}")
    p, t = pred == label, true == label
    tp = np.sum(p & t, axis=-1).astype(float)
    fp = np.sum(p & ~t, axis=-1).astype(float)
    fn = np.sum(~p & t, axis=-1).astype(float)
    true_empty = (tp + fn) == 0
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), np.where(true_empty, 1.0, 0.0))
        recall = np.where(true_empty, 1.0, tp / (tp + fn))
        dice = np.where(tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 1.0)
    out = {"dice": dice, "precision": precision, "recall": recall}
    if pred.ndim == 1:
        return {k: float(v) for k, v in out.items()}
    return out


# --- AHA-loc --------------------------------------------------------------------------


def diameter(points) -> float:
    """Largest distance between two of ``points (n, d)`` (0.0 for fewer than two).

    Exact: the farthest pair are vertices of the convex hull, so only those are compared
    (:class:`scipy.spatial.ConvexHull`); tiny or degenerate (e.g. coplanar) sets are
    compared pair by pair.
    """
    points = np.asarray(points, np.float64)
    if points.ndim != 2:
        raise ValueError(f"points must be (n, d), got shape {points.shape}")
    if len(points) < 2:
        return 0.0
    candidates = points
    if len(points) > 64:
        try:
            candidates = points[ConvexHull(points).vertices]
        except QhullError:  # degenerate: every pair, in chunks
            candidates = points
    best = 0.0
    chunk = max(1, 2**22 // len(candidates))
    for start in range(0, len(candidates), chunk):
        block = candidates[start:start + chunk]
        d2 = np.sum((block[:, None, :] - candidates[None, :, :]) ** 2, axis=-1)
        best = max(best, float(d2.max()))
    return float(np.sqrt(best))


def lv_extent(aha, xyz) -> float:
    """The LV's extent: the largest distance between two LV points (``aha > 0``) of a
    cloud, AHA-loc's default distance scale (mm when ``xyz`` is).

    Parameters
    ----------
    aha : (n,) int array
        AHA segment of every point (1..17; 0 outside the LV region).
    xyz : (n, 3) float array
        Point positions.
    """
    aha, xyz = _check_cloud(aha, xyz)
    lv = aha > 0
    if lv.sum() < 2:
        raise ValueError(f"the cloud has {int(lv.sum())} LV point(s) (aha > 0): no extent to "
                         f"scale AHA-loc's distance by; pass scale")
    return diameter(xyz[lv])


def _check_cloud(aha, xyz):
    aha, xyz = np.asarray(aha), np.asarray(xyz, np.float64)
    if xyz.ndim != 2 or xyz.shape[1] != 3 or aha.shape != (len(xyz),):
        raise ValueError(f"need aha (n,) and xyz (n, 3), got {aha.shape} and {xyz.shape}")
    return aha, xyz


def infarct_centre(labels, aha, xyz, label: int = SCAR) -> tuple[np.ndarray, int]:
    """Centre of the ``label`` points of a map and its AHA segment.

    The centre is the centroid of their ``xyz`` (it may lie in the cavity); its segment is
    that of the ``label`` point nearest to the centroid (the first on a tie; 0 when that
    point is outside the LV region).

    Parameters
    ----------
    labels : (n,) int array
        The map.
    aha : (n,) int array
        AHA segment of every point (1..17; 0 outside the LV region).
    xyz : (n, 3) float array
        Point positions.
    label : int, default 2
        The class whose centre is found (:data:`SCAR`).

    Returns
    -------
    centre : (3,) float array
    segment : int
    """
    aha, xyz = _check_cloud(aha, xyz)
    mask = np.asarray(labels) == label
    if mask.shape != aha.shape:
        raise ValueError(f"labels must be (n,) = {aha.shape}, got {mask.shape}")
    if not mask.any():
        raise ValueError(f"the map has no point labelled {label}: no centre")
    pts = xyz[mask]
    centre = pts.mean(axis=0)
    nearest = int(np.argmin(np.sum((pts - centre) ** 2, axis=1)))
    return centre, int(aha[mask][nearest])


def aha_loc_score(pred, true, aha, xyz, label: int = SCAR, scale: float | None = None
                  ) -> float:
    """Paper 004's AHA-loc (Eq. 12): 0.5 delta + 0.2 IoU_ids + 0.3 (1 - d_c).

    delta is 1 when the centres of the ``label`` points of ``pred`` and ``true``
    (:func:`infarct_centre`) lie in the same AHA segment, else 0; IoU_ids is the IoU of the
    sets of AHA segments (1..17; 0 excluded) among the ``label`` points of either map (0
    when both sets are empty); d_c is the distance between the two centres divided by
    ``scale``, clipped to [0, 1]. A prediction without a ``label`` point scores 0.

    Parameters
    ----------
    pred, true : (n,) int array
        Predicted and true maps; ``true`` must have a ``label`` point.
    aha : (n,) int array
        AHA segment of every point (1..17; 0 outside the LV region).
    xyz : (n, 3) float array
        Point positions.
    label : int, default 2
        The class located (:data:`SCAR`).
    scale : float, optional
        Distance scale of d_c; None (default): :func:`lv_extent` of the cloud.

    Returns
    -------
    float
        In [0, 1]; 1 for a perfect prediction.
    """
    aha, xyz = _check_cloud(aha, xyz)
    pred, true = np.asarray(pred), np.asarray(true)
    if pred.shape != aha.shape or true.shape != aha.shape:
        raise ValueError(f"pred and true must be (n,) = {aha.shape}, got {pred.shape} and "
                         f"{true.shape}")
    if not (true == label).any():
        raise ValueError(f"the true map has no point labelled {label}: AHA-loc is undefined")
    if not (pred == label).any():
        return 0.0
    if scale is None:
        scale = lv_extent(aha, xyz)
    if not scale > 0:
        raise ValueError(f"scale must be a positive distance, got {scale}")
    c_pred, s_pred = infarct_centre(pred, aha, xyz, label)
    c_true, s_true = infarct_centre(true, aha, xyz, label)
    delta = float(s_pred == s_true)
    ids_pred = set(np.unique(aha[pred == label]).tolist()) - {0}
    ids_true = set(np.unique(aha[true == label]).tolist()) - {0}
    union = ids_pred | ids_true
    iou = len(ids_pred & ids_true) / len(union) if union else 0.0
    d_c = min(1.0, float(np.linalg.norm(c_pred - c_true)) / scale)
    w_delta, w_iou, w_dist = AHA_LOC_WEIGHTS
    return float(w_delta * delta + w_iou * iou + w_dist * (1.0 - d_c))


def sample_metrics(pred, true, aha, xyz, scale: float | None = None) -> dict:
    """The seven metrics of one predicted map (:data:`METRIC_COLUMNS`, in that order).

    Dice, precision and recall of scar and border zone (:func:`segmentation_scores`) and
    AHA-loc of the scar (:func:`aha_loc_score`; NaN when ``true`` has no scar, where it is
    undefined).

    Parameters
    ----------
    pred, true : (n,) int array
        Predicted and true maps.
    aha : (n,) int array
        AHA segment of every point (1..17; 0 outside the LV region).
    xyz : (n, 3) float array
        Point positions.
    scale : float, optional
        AHA-loc's distance scale; None (default): :func:`lv_extent` of the cloud (pass it
        to score many maps of one cloud without recomputing it).

    Returns
    -------
    dict
        Metric name -> float.
    """
    out = {}
    for prefix, label in (("scar", SCAR), ("bz", BORDER_ZONE)):
        for key, value in segmentation_scores(pred, true, label).items():
            out[f"{prefix}_{key}"] = value
    if (np.asarray(true) == SCAR).any():
        out["aha_loc"] = aha_loc_score(pred, true, aha, xyz, SCAR, scale)
    else:
        _check_cloud(aha, xyz)
        out["aha_loc"] = float("nan")
    return {k: out[k] for k in METRIC_COLUMNS}


# --- Table I --------------------------------------------------------------------------


def scenario_parts(name: str) -> tuple[str, str]:
    """(location, transmurality) of one of our infarct scenario names,
    ``<location>_<transmural|subendocardial>`` with a location of :data:`LOCATIONS`."""
    location, _, transmurality = str(name).rpartition("_")
    if transmurality not in TRANSMURALITIES or location not in LOCATIONS:
        raise ValueError(f"scenario {name!r} is not <location>_<transmurality> with a "
                         f"location of {LOCATIONS} and a transmurality of {TRANSMURALITIES}")
    return location, transmurality


def _stat_columns(with_n: bool) -> pd.MultiIndex:
    cols = [(m, s) for m in METRIC_COLUMNS for s in ("mean", "sd")]
    return pd.MultiIndex.from_tuples(cols + ([("n", "")] if with_n else []),
                                     names=["metric", "stat"])


def table1(metrics: pd.DataFrame, split: str | None = None) -> pd.DataFrame:
    """Paper 004's Table I of a per-sample metrics table, per model.

    Rows ``(model, transmurality, location)``: each of our scenarios present (in the
    paper's order, :data:`LOCATIONS` within :data:`TRANSMURALITIES`), then
    ``(model, transmurality, "average")`` over the samples of that transmurality and
    ``(model, "all", "average")`` over all of the model's samples: averages over samples,
    not over rows. Columns ``(metric, "mean")`` and ``(metric, "sd")`` of every metric of
    :data:`METRIC_COLUMNS` (sample sd, ``ddof=1``; NaN values skipped) and ``("n", "")``,
    the number of samples. Rows whose scenario is not one of ours (``baseline``, a
    ``_slow`` variant, anything unknown) are ignored.

    Parameters
    ----------
    metrics : pandas.DataFrame
        One row per sample: ``model``, ``scenario`` and the :data:`METRIC_COLUMNS`
        (``subject`` and ``split`` may be there too).
    split : str, optional
        Only the rows of this ``split``; None (default): every row.

    Returns
    -------
    pandas.DataFrame
    """
    need = ["model", "scenario", *METRIC_COLUMNS] + (["split"] if split is not None else [])
    missing = [c for c in need if c not in metrics.columns]
    if missing:
        raise ValueError(f"the metrics table lacks the column(s) {missing}")
    df = metrics if split is None else metrics[metrics["split"] == split]
    parts = {}
    for name in pd.unique(df["scenario"]):
        try:
            parts[name] = scenario_parts(name)
        except ValueError:
            continue  # not one of Table I's scenarios
    df = df[df["scenario"].isin(list(parts))]
    location = df["scenario"].map(lambda s: parts[s][0])
    transmurality = df["scenario"].map(lambda s: parts[s][1])
    values = df[list(METRIC_COLUMNS)].astype(float)

    def stats(mask):
        block = values[mask]
        row = []
        for m in METRIC_COLUMNS:
            row += [block[m].mean(), block[m].std(ddof=1)]
        return [*row, int(mask.sum())]

    rows, index = [], []
    for model in pd.unique(df["model"]):
        of_model = df["model"] == model
        for tm in TRANSMURALITIES:
            of_tm = of_model & (transmurality == tm)
            for loc in LOCATIONS:
                mask = of_tm & (location == loc)
                if mask.any():
                    rows.append(stats(mask))
                    index.append((model, tm, loc))
            if of_tm.any():
                rows.append(stats(of_tm))
                index.append((model, tm, AVERAGE))
        rows.append(stats(of_model))
        index.append((model, ALL, AVERAGE))
    out = pd.DataFrame(rows, columns=_stat_columns(True),
                       index=pd.MultiIndex.from_tuples(
                           index, names=["model", "transmurality", "location"]))
    out[("n", "")] = out[("n", "")].astype(int)
    return out


# The paper's Table I, "mean±sd" (scar Dice, precision, recall, BZ Dice, precision,
# recall, AHA-loc). Transmural septal: only six values survive the PDF extraction
# (0.739±0.217 0.814±0.195 0.695±0.195 0.698±0.241 0.628±0.244 0.628±0.244) and the
# last two repeat, so which BZ / AHA-loc column each of the last three belongs to is
# unknown: the three scar values are kept, the BZ and AHA-loc entries are NaN.
_PAPER_TABLE1_TEXT = """
subendocardial septal             0.349±0.198 0.384±0.311 0.517±0.327 0.246±0.200 0.236±0.237 0.340±0.282 0.687±0.347
subendocardial apical             0.564±0.070 0.490±0.154 0.795±0.201 0.336±0.064 0.311±0.134 0.497±0.177 0.915±0.190
subendocardial anterior_extensive 0.702±0.039 0.707±0.135 0.745±0.125 0.370±0.105 0.391±0.102 0.389±0.129 0.721±0.264
subendocardial anterior_limited   0.476±0.241 0.464±0.201 0.584±0.349 0.284±0.122 0.266±0.157 0.272±0.173 0.691±0.328
subendocardial lateral            0.222±0.219 0.200±0.149 0.323±0.370 0.137±0.138 0.147±0.159 0.206±0.265 0.452±0.288
subendocardial lateral_small      0.097±0.112 0.067±0.087 0.388±0.452 0.000±0.000 0.000±0.000 0.000±0.000 0.384±0.286
subendocardial inferior           0.228±0.252 0.233±0.301 0.295±0.323 0.100±0.144 0.130±0.212 0.120±0.159 0.480±0.361
subendocardial inferolateral      0.527±0.256 0.539±0.283 0.602±0.330 0.321±0.158 0.346±0.184 0.370±0.196 0.550±0.316
subendocardial average            0.396±0.271 0.386±0.292 0.531±0.368 0.220±0.178 0.228±0.203 0.274±0.243 0.610±0.343
transmural     septal             0.739±0.217 0.814±0.195 0.695±0.195 nan±nan nan±nan nan±nan nan±nan
transmural     apical             0.779±0.186 0.950±0.046 0.703±0.221 0.699±0.140 0.796±0.077 0.649±0.187 0.921±0.179
transmural     anterior_extensive 0.934±0.028 0.967±0.020 0.908±0.057 0.785±0.043 0.761±0.041 0.815±0.061 0.987±0.007
transmural     anterior_limited   0.450±0.280 0.696±0.412 0.392±0.274 0.242±0.162 0.430±0.259 0.193±0.137 0.711±0.333
transmural     lateral            0.211±0.220 0.397±0.381 0.168±0.185 0.132±0.129 0.437±0.340 0.091±0.107 0.403±0.247
transmural     lateral_small      0.311±0.244 0.363±0.289 0.372±0.353 0.011±0.032 0.025±0.075 0.010±0.029 0.609±0.328
transmural     inferior           0.173±0.288 0.162±0.263 0.195±0.332 0.106±0.193 0.149±0.271 0.111±0.207 0.270±0.227
transmural     inferolateral      0.543±0.245 0.874±0.247 0.437±0.275 0.452±0.188 0.689±0.182 0.374±0.234 0.688±0.284
transmural     average            0.518±0.347 0.653±0.391 0.484±0.354 0.385±0.322 0.498±0.340 0.359±0.331 0.659±0.339
all            average            0.457±0.317 0.519±0.370 0.507±0.362 0.302±0.273 0.363±0.311 0.317±0.293 0.634±0.342
"""


def _paper_table1() -> pd.DataFrame:
    index, rows = [], []
    for line in _PAPER_TABLE1_TEXT.strip().splitlines():
        tm, loc, *cells = line.split()
        index.append((tm, loc))
        rows.append([float(v) for cell in cells for v in cell.split("±")])
    return pd.DataFrame(rows, columns=_stat_columns(False),
                        index=pd.MultiIndex.from_tuples(index, names=["transmurality",
                                                                      "location"]))


#: Paper 004's Table I: rows ``(transmurality, location)`` as :func:`table1`'s (the
#: paper's "Lateral large" is our ``lateral``; ``("all", "average")`` the overall
#: average), columns ``(metric, "mean")`` and ``(metric, "sd")`` of :data:`METRIC_COLUMNS`.
#: Transmural septal has its scar values only (the rest NaN: lost in the PDF extraction).
PAPER_TABLE1 = _paper_table1()


def compare_models(metrics: pd.DataFrame, models, columns=("scar_dice", "bz_dice", "aha_loc"),
                   paper: bool = True) -> pd.DataFrame:
    """Overall, subendocardial and transmural ``mean ± sd`` of ``columns`` for each of
    ``models`` (rows of :func:`table1`), side by side with paper 004's Table I
    (:data:`PAPER_TABLE1`) when ``paper``. Rows: the three averages; columns:
    (metric, model or ``paper``)."""
    t = table1(metrics[metrics.model.isin(list(models))])
    rows = [(ALL, AVERAGE), ("subendocardial", AVERAGE), ("transmural", AVERAGE)]
    out = {}
    for col in columns:
        for model in models:
            out[(col, model)] = [_fmt(t, (model, *r), col) for r in rows]
        if paper:
            out[(col, "paper")] = [_fmt(PAPER_TABLE1, r, col) for r in rows]
    return pd.DataFrame(out, index=["all", "subendocardial", "transmural"])


def _fmt(table: pd.DataFrame, row, col: str) -> str:
    if row not in table.index:
        return "–"
    mean, sd = table.loc[row, (col, "mean")], table.loc[row, (col, "sd")]
    if not np.isfinite(mean):
        return "–"
    return f"{mean:.3f} ± {sd:.3f}" if np.isfinite(sd) else f"{mean:.3f}"


def scenario_table(metrics: pd.DataFrame, model: str, columns=("scar_dice", "bz_dice",
                                                               "aha_loc")) -> pd.DataFrame:
    """Table I per scenario for one model, each metric's ``mean ± sd`` beside the
    paper's."""
    t = table1(metrics[metrics.model == model]).loc[model]
    out = {}
    for col in columns:
        out[(col, "ours")] = [_fmt(t, r, col) for r in t.index]
        out[(col, "paper")] = [_fmt(PAPER_TABLE1, r, col) for r in t.index]
    out[("n", "")] = list(t[("n", "")])
    return pd.DataFrame(out, index=t.index)

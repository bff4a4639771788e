"""Curves and scatter plots: transport agreement (notebook 01), model statistics against
their parameters (notebook 02), CMA-ES histories and KL vs MMD (notebook 03).

Plotting only: every number shown is computed elsewhere.
"""

from __future__ import annotations

TERRITORY_COLOURS = {"LAD": "tab:blue", "LCX": "tab:orange", "RCA": "tab:green"}


def transport_agreement(pop):
    """Infarct size and transmurality of each subject before vs after transport."""
    import matplotlib.pyplot as plt

    pairs = (("size", "infarct size (fraction of LV)"),
             ("transmural_extent", "mean transmural extent"),
             ("transmural_fraction", "fraction of transmural sectors"))
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    for ax, (key, label) in zip(axes, pairs, strict=True):
        for t, colour in TERRITORY_COLOURS.items():
            sel = (pop.territory == t).values
            ax.scatter(pop[f"source_{key}"].values[sel], pop[f"reference_{key}"].values[sel],
                       s=14, color=colour, label=t, alpha=0.8)
        lo = 0.0
        hi = float(max(pop[f"source_{key}"].max(), pop[f"reference_{key}"].max())) * 1.05
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
        ax.set_xlabel(f"source: {label}")
        ax.set_ylabel(f"reference: {label}")
        ax.set_aspect("equal")
    axes[0].legend(frameon=False)
    fig.tight_layout()
    return fig


def parameter_sweeps(table, stats: dict, real: dict | None = None):
    """Model statistics against one parameter, one line per value of another.

    Parameters
    ----------
    table : pandas.DataFrame
        Long form, one row per setting, with columns ``model``, ``x_name``, ``x``,
        ``line_name``, ``line`` and one column per key of ``stats`` (means), optionally
        ``<stat>_sd`` (standard deviations over the samples, drawn as bands).
    stats : dict
        Column -> axis label; one row of panels per statistic.
    real : dict, optional
        Column -> the real population's value, drawn as a dashed line.
    """
    import matplotlib.pyplot as plt

    models = list(dict.fromkeys(table["model"]))
    fig, axes = plt.subplots(len(stats), len(models), figsize=(5.2 * len(models),
                             3.2 * len(stats)), squeeze=False)
    for col, model in enumerate(models):
        sub = table[table["model"] == model]
        for row, (stat, label) in enumerate(stats.items()):
            ax = axes[row, col]
            for line, grp in sub.groupby("line", sort=True):
                ax.plot(grp["x"], grp[stat], "o-", ms=3, label=f"{line:g}")
                if f"{stat}_sd" in grp:
                    ax.fill_between(grp["x"], grp[stat] - grp[f"{stat}_sd"],
                                    grp[stat] + grp[f"{stat}_sd"], alpha=0.12)
            if real and stat in real:
                ax.axhline(real[stat], color="k", ls="--", lw=1, label="real")
            ax.set_xlabel(sub["x_name"].iloc[0])
            ax.set_ylabel(label)
            ax.set_title(f"{model} model", fontsize=10)
            ax.legend(title=sub["line_name"].iloc[0], fontsize=7, title_fontsize=7,
                      frameon=False)
    fig.tight_layout()
    return fig


def personalization_history(runs: dict, title: str = ""):
    """Paper Fig. 2: energy (top), covariance coefficients (middle) and parameters
    (bottom) across CMA-ES generations, one column per run.

    ``runs`` maps a label to a ``personalization_*.nc`` dataset.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, len(runs), figsize=(5.2 * len(runs), 8.4), squeeze=False,
                             sharex="col")
    for j, (label, ds) in enumerate(runs.items()):
        g = ds["generation"].values
        ax = axes[0, j]
        ax.plot(g, ds["energy_median"], color="0.6", lw=1, label="median candidate")
        ax.plot(g, ds["energy_best"], color="0.3", lw=0.8, ls=":", label="best candidate")
        ax.plot(g, ds["energy_at_mean"], color="tab:red", lw=1.2, label="at the search mean")
        ax.axhline(0, color="k", lw=0.5)
        ax.set_title(f"{label}\n{ds.attrs['divergence'].upper()}, {ds.attrs['dims']}D, "
                     f"stop: {ds.attrs['stop_reason']}", fontsize=9)
        ax.set_ylabel("energy")
        ax.legend(fontsize=7)
        ax = axes[1, j]
        cov = ds["covariance"].values
        names = list(ds["param"].values)
        for a in range(len(names)):
            for b in range(a, len(names)):
                ax.plot(g, cov[:, a, b], lw=1 if a == b else 0.7, ls="-" if a == b else "--",
                        label=f"C[{a},{b}]")
        ax.set_yscale("symlog", linthresh=1e-2)
        ax.set_ylabel(r"covariance $\sigma^2 C$ (CMA units)")
        ax.legend(fontsize=6, ncol=2)
        ax = axes[2, j]
        for a, name in enumerate(names):
            ax.plot(g, ds["mean_physical"][:, a], label=f"{name} [{ds['units'].values[a]}]")
        ax.set_xlabel("generation")
        ax.set_ylabel("parameter (physical)")
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def divergence_comparison(runs: dict):
    """KL vs MMD runs of each model: energy relative to the first generation's median
    (left) and the physical parameters across generations (right, solid KL, dashed MMD).

    ``runs`` maps ``(model, divergence)`` to a ``personalization_*.nc`` dataset.
    """
    import matplotlib.pyplot as plt

    models = sorted({m for m, _ in runs})
    fig, axes = plt.subplots(len(models), 2, figsize=(11, 3.4 * len(models)), squeeze=False)
    for i, model in enumerate(models):
        for div, ls in (("kl", "-"), ("mmd", "--")):
            ds = runs.get((model, div))
            if ds is None:
                continue
            g = ds["generation"].values
            rel = ds["energy_at_mean"] / float(ds["energy_median"][0])
            axes[i, 0].plot(g, rel, ls=ls, label=div.upper())
            for a, name in enumerate(ds["param"].values):
                axes[i, 1].plot(g, ds["mean_physical"][:, a], ls=ls, color=f"C{a}",
                                label=f"{name} ({div.upper()})")
        axes[i, 0].axhline(0.5, color="k", lw=0.5, ls=":")
        axes[i, 0].set_ylabel(f"{model}\nenergy / first median")
        axes[i, 0].legend(fontsize=8)
        axes[i, 1].set_ylabel("parameter (physical)")
        axes[i, 1].legend(fontsize=6, ncol=2)
    for ax in axes[-1]:
        ax.set_xlabel("generation")
    fig.tight_layout()
    return fig

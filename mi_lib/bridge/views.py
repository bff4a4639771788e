"""Figures of notebook 08 (plotting only: the numbers come from :mod:`~mi_lib.bridge.checks`)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .checks import DESCRIPTOR_TOLERANCES

_LABELS = {"size": "infarcted fraction of the LV", "transmural_extent": "transmural extent",
           "circumferential_extent": "circumferential extent"}


def descriptor_distributions(lge: dict, carried: dict, size: float = 3.4):
    """Each descriptor's distribution per territory: the LGE population (white boxes)
    beside the carried infarcts (grey), one panel per descriptor."""
    names = list(DESCRIPTOR_TOLERANCES)
    territories = sorted(set(lge) & set(carried))
    fig, axes = plt.subplots(1, len(names), figsize=(size * len(names), size))
    for ax, name in zip(np.atleast_1d(axes), names, strict=True):
        data, pos, colours = [], [], []
        for k, t in enumerate(territories):
            for j, (side, colour) in enumerate(((lge, "white"), (carried, "0.7"))):
                data.append(np.asarray(side[t]["descriptors"][name], float))
                pos.append(3 * k + j)
                colours.append(colour)
        box = ax.boxplot(data, positions=pos, widths=0.8, patch_artist=True)
        for patch, colour in zip(box["boxes"], colours, strict=True):
            patch.set_facecolor(colour)
        ax.set_xticks([3 * k + 0.5 for k in range(len(territories))], territories)
        ax.set_title(_LABELS[name])
    handles = [plt.Rectangle((0, 0), 1, 1, fc=c, ec="k") for c in ("white", "0.7")]
    fig.legend(handles, ["LGE population (notebook 01)", "carried onto the twin"],
               loc="lower center", ncol=2, frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def territory_bullseyes(carried: dict, key: str = "frequency", size: float = 3.2):
    """A bull's-eye per territory of ``carried[t][key]`` (index 1..17; by default the
    fraction of the territory's infarcts covering at least a tenth of each segment)."""
    from ..twin.views.scene import bullseye

    territories = sorted(carried)
    fig, axes = plt.subplots(1, len(territories), figsize=(size * len(territories), size))
    for ax, t in zip(np.atleast_1d(axes), territories, strict=True):
        bullseye(np.asarray(carried[t][key]), ax=ax, vmin=0.0, vmax=1.0, cmap="YlOrRd",
                 title=t)
    fig.tight_layout()
    return fig


def gallery(product, subjects, n: int = 4, *, view="anterior"):
    """Carried infarcts on the dense clouds of ``subjects`` (names): the first ``n``
    infarcts of each, titled with territory and size."""
    from ..inverse.views import cloud_render
    from ..twin.views.scene import image_grid

    images, titles = [], []
    for name in subjects:
        one = product.sel(subject=name)
        xyz = np.asarray(one["pc_dense"].values[:, :3])
        tissue = np.asarray(one["pc_dense_tissue"].values)
        territory = np.asarray(one["territory"].values).astype(str)
        size = np.asarray(one["size"].values)
        for k in range(min(n, tissue.shape[0])):
            images.append(cloud_render(xyz, tissue[k], view=view))
            titles.append(f"{name}\n{territory[k]}, {size[k]:.0%} of the domain")
    return image_grid(images, titles, ncols=n, size=2.8)

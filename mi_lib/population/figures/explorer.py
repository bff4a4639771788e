"""The interactive ipywidgets explorer of the infarct models' parameters (notebook 02).

Plotting only: every number shown is computed elsewhere.
"""

from __future__ import annotations


def parameter_explorer(parameters: dict, redraw, initial: dict | None = None,
                       seed: int = 0, max_x: float = 8.0):
    """An ipywidgets explorer: a model dropdown, one slider per parameter, a seed.

    Parameters
    ----------
    parameters : dict
        Model name -> its :class:`~mi_lib.population.models.Parameter` tuple. Sliders are in
        physical units, from 0 to ``unit * max_x`` in steps of ``unit / 4``.
    redraw : callable
        ``redraw(model_name, theta, seed)`` draws the figure for the physical parameters
        ``theta``; called once at start and on every change.
    initial : dict, optional
        Model name -> initial physical values; default the CMA-ES start ``2 * unit``.
    seed : int
        Initial seed; the "resample" button draws with the next one.

    Returns
    -------
    ipywidgets.VBox
        The explorer, to ``display``.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    initial = initial or {}
    sliders = {}
    for name, params in parameters.items():
        start = initial.get(name, [2.0 * p.unit for p in params])
        sliders[name] = [
            widgets.FloatSlider(value=float(v), min=0.0, max=p.unit * max_x, step=p.unit / 4,
                                description=f"{p.name} ({p.units})", continuous_update=False,
                                style={"description_width": "210px"},
                                layout=widgets.Layout(width="520px"))
            for p, v in zip(params, start, strict=True)]
    choice = widgets.Dropdown(options=list(parameters), description="model")
    seed_box = widgets.IntText(value=int(seed), description="seed",
                               layout=widgets.Layout(width="180px"))
    button = widgets.Button(description="resample", icon="refresh")
    box = widgets.VBox(sliders[choice.value])
    out = widgets.Output()

    def update(*_):
        box.children = sliders[choice.value]
        with out:
            out.clear_output(wait=True)
            redraw(choice.value, [s.value for s in sliders[choice.value]], seed_box.value)
            plt.show()

    def resample(_):
        seed_box.value += 1  # triggers update

    for control in [choice, seed_box, *[s for group in sliders.values() for s in group]]:
        control.observe(update, names="value")
    button.on_click(resample)
    update()
    return widgets.VBox([widgets.HBox([choice, seed_box, button]), box, out])

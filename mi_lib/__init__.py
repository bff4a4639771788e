"""mi_lib: the thin, tested library behind the project's notebooks.

One package per pipeline and one for what they share; each package's ``__init__`` is its
public API.

:mod:`mi_lib.core`
    Profiles and run paths, atomic product writes, product readers and builders, the
    resumable Dask campaign runner, the HTML reports and the benchmarks.
:mod:`mi_lib.population`
    Pipeline A, virtual populations of infarcts (paper 000, notebooks 01-04): LGE cohorts,
    the reference anatomy and transport, the stochastic infarct models, divergences,
    CMA-ES personalization, manifold analysis and their figures.
:mod:`mi_lib.twin`
    Pipeline B, the digital twin's forward model (paper 004, notebooks 05-06): meshes,
    biventricular coordinates and fibres, infarct scenarios, Eikonal activation, the
    pseudo-ECG, the virtual cohort, QRS criteria and the sensitivity product.
:mod:`mi_lib.inverse`
    Pipeline B inverse (notebooks 07, 09): learning scar and border zone from QRS and
    anatomy; the differentiable soft-DTW loss of the QRS decoder.
"""

__version__ = "0.1.0"

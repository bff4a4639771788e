"""mi_lib: the thin, tested library behind the project's notebooks.

Pipeline A (virtual populations of infarcts, paper 000):
    :mod:`mi_lib.cohort`     LGE cohort I/O, validation and the synthetic cohort generator
    :mod:`mi_lib.reference`  LV coordinates, transport to the reference anatomy, alignment

Shared pieces:
    :mod:`mi_lib.config`     profiles and project paths
    :mod:`mi_lib.store`      atomic writes of products
    :mod:`mi_lib.plotting`   figures (never computes science)
    :mod:`mi_lib.reports`    executes the notebooks into HTML reports
    :mod:`mi_lib.bench`      the benchmarks of ``make bench``
"""

__version__ = "0.1.0"

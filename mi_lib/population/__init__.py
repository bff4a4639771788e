"""Pipeline A, virtual populations of infarcts (paper 000; notebooks 01-04).

:mod:`~mi_lib.population.lge`              LGE cohorts: on-disk format, loader, synthetic cohort
:mod:`~mi_lib.population.reference`        the reference LV, slice coordinates, transport,
                                           territory alignment, ``population.nc``
:mod:`~mi_lib.population.models`           the two stochastic geometric infarct models
:mod:`~mi_lib.population.divergence`       KL and MMD between populations
:mod:`~mi_lib.population.personalization`  population-based personalization by CMA-ES
:mod:`~mi_lib.population.manifold`         Isomap comparison and modes of variation
:mod:`~mi_lib.population.products`         the pipeline's products: checked readers, builders on demand
:mod:`~mi_lib.population.figures`          the pipeline's figures (never computes science)
"""

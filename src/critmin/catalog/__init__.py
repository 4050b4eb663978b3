"""critmin.catalog: typed, cited data (the bottom layer; imports nothing above it).

Modules: :mod:`~critmin.catalog.minerals` (the U.S. critical-minerals lists, products),
:mod:`~critmin.catalog.stages`, :mod:`~critmin.catalog.countries` (ISO 3166 for every source
spelling), :mod:`~critmin.catalog.blocs` (dated memberships), :mod:`~critmin.catalog.production`,
:mod:`~critmin.catalog.trade` (BACI), :mod:`~critmin.catalog.governance` (WGI),
:mod:`~critmin.catalog.reliance`, :mod:`~critmin.catalog.prices`,
:mod:`~critmin.catalog.provenance`. The data files in ``catalog/data/`` are built by
``scripts/build_data.py`` (``make data``) from ``data/raw/``; see ``docs/data.md``.
"""

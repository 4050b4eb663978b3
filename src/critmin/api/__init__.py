"""critmin's service: the market's system of record over HTTP (FastAPI) with a dashboard.

:func:`critmin.api.app.create_app` builds the application on an engine from
:func:`critmin.store.open_store`; ``critmin serve`` runs it under uvicorn. All domain
computation goes through :mod:`critmin.api.engine` (the same code as the CLI).
"""

"""The dashboard: server-rendered pages (Jinja2 + Plotly) served by the same process."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)

"""Routes: filled in by issue 5's work in progress."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()

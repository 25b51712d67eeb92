"""A live view of a shield's decisions: mount `LiveView` in your app, feed it with its reporter."""

from __future__ import annotations

from .app import LiveView
from .state import LiveState, LiveViewReporter, Snapshot, TopK

__all__ = ["LiveState", "LiveView", "LiveViewReporter", "Snapshot", "TopK"]

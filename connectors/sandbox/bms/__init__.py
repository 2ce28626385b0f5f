"""Loopback simulator of the Kaseya BMS REST API v2 (demo, integration tests, benchmarks)."""

from .app import BmsSandboxApp, create_app
from .data import ALL_PERMISSIONS, LOOKUPS, STREAMS, SandboxState
from .server import SandboxServer

__all__ = ["ALL_PERMISSIONS", "LOOKUPS", "STREAMS", "BmsSandboxApp", "SandboxServer", "SandboxState", "create_app"]

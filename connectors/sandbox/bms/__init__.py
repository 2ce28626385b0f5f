"""Loopback simulator of the Kaseya BMS REST API v2 (demo, integration tests, benchmarks)."""

from .app import BmsSandboxApp, create_app
from .data import ALL_PERMISSIONS, LOOKUPS, STREAMS
from .server import SandboxServer
from .state import SandboxState

__all__ = ["ALL_PERMISSIONS", "LOOKUPS", "STREAMS", "BmsSandboxApp", "SandboxServer", "SandboxState", "create_app"]

"""Loopback simulator of ConnectWise PSA's REST API 3.0 (demo, integration tests, benchmarks)."""

from .app import ConnectWiseSandboxApp, create_app
from .data import ALL_PERMISSIONS, STREAMS
from .server import SandboxServer
from .state import SandboxState
from .wire import BASE

__all__ = ["ALL_PERMISSIONS", "BASE", "STREAMS", "ConnectWiseSandboxApp", "SandboxServer", "SandboxState",
           "create_app"]

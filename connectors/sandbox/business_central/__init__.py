"""Loopback simulator of Microsoft Entra ID (client credentials) + Business Central API v2.0 over HTTPS."""

from .app import BcApi, BcSandboxApp, create_app
from .certs import generate_tls, ssl_context_from
from .data import ALL_PERMISSION_SETS, BC_RESOURCE, ENTITY_SETS, PERMISSION_FOR, TABLE_FOR, normalize_name
from .seed import bms_accounts
from .server import SandboxServer
from .state import BcState

__all__ = ["ALL_PERMISSION_SETS", "BC_RESOURCE", "ENTITY_SETS", "PERMISSION_FOR", "TABLE_FOR", "BcApi",
           "BcSandboxApp", "BcState", "SandboxServer", "bms_accounts", "create_app", "generate_tls",
           "normalize_name", "ssl_context_from"]

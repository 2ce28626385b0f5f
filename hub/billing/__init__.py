"""Subscription billing: plans, lines and actions, firmed and posted into the ERP.

The pure rules are in :mod:`hub.billing.rules`; the modules beside it are the services.
"""

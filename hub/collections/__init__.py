"""Collections: charging cards and mandates, dunning, the notification outbox and its delivery.

The pure rules are in :mod:`hub.collections.rules`; the modules beside it are the services
that read and write the hub store and call the gateway, the ERP, the PSA and the mail server.
"""

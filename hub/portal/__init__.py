"""The customer portal's access: signed, expiring, revocable links to one customer's pages
(:mod:`hub.portal.links`), the e-mailed one-time codes (:mod:`hub.portal.codes`) and the
portal's settings and branding (:mod:`hub.portal.settings`).

This package depends on ``hub.platform`` only, so every service that writes to a customer
(overdue notices, card-expiry warnings, statements, invoice e-mails) can put a pay link in it.
What the pages show and do is in :mod:`hub.collections.portal`.
"""

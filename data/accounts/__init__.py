"""Accounts, roles and area access, and the audit log (all backed by :mod:`data.storage`)."""

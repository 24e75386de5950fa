"""Accounts: tenants, users, roles, sessions (access + rotating refresh tokens), API keys,
sign-in throttling and the audit log."""

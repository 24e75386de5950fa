"""Live progress: job events (status, progress, log lines) as rows, fanned out to every API
process (PostgreSQL LISTEN/NOTIFY, or in-process polling on SQLite) and served as SSE."""

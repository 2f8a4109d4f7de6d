"""Database access: engine, tenant-scoped units of work, repository SQL."""

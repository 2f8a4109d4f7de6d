"""Capital Ledger: an auditable, multi-user history of capital sources and their WACC."""

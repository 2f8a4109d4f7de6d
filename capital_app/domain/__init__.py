"""The ledger's rules in pure Python: no I/O, no framework, exhaustively tested."""

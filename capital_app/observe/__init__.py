"""Operations: Prometheus metrics and structured logs (docs/operations.md).

Importable from every layer (like settings): it imports nothing of the app but
`capital_app.settings`, and holds no state beyond the metric objects and the
current request's context.
"""

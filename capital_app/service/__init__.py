"""Commands and queries: authorization, validation, one transaction each.

The only layer that writes. The UI and the API call these same functions.
"""

"""Live updates: committed changes reach every open session of their organization.

`listener` holds this process's LISTEN connection and hands merged changes to
subscribers; `lifespan` runs it with the Reflex app. See docs/realtime.md.
"""

"""The REST API (FastAPI), mounted on the Reflex backend through `api_transformer`."""

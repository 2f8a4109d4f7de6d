"""The Reflex web UI: pages, their states, shared components and the page layout."""

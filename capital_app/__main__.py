"""`python -m capital_app` is the same as the `capital-app` console script."""

from capital_app.cli import main

raise SystemExit(main())

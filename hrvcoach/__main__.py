"""`python -m hrvcoach` runs the command-line interface."""

from hrvcoach.views.cli.main import main

raise SystemExit(main())

"""`python -m hrvcoach` runs the command-line interface."""

from hrvcoach.views.cli import main

raise SystemExit(main())

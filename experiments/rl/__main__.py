"""``python -m experiments.rl``: train and compare the reference agents
(``active`` / ``active-study``: the active-recognition agent, :mod:`experiments.rl.active`)."""

import sys

from experiments.rl.reference import cli

if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in ("active", "active-study"):
        from experiments.rl.active import main
        sys.exit(main(sys.argv[2:], study=sys.argv[1] == "active-study"))
    cli()

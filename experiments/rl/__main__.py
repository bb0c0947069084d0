"""``python -m experiments.rl``: train and compare the reference agents (the SB3 study,
:mod:`experiments.rl.sb3_study`: PPO, RecurrentPPO; see
``python -m experiments.rl --help``), or the active-recognition agent with the subcommands
``active`` (one run) and ``active-study`` (seeds x movements, resumable); each has its own ``--help``.
All of them need the ``rl`` extra (``pip install -c constraints.txt -e ".[rl]"``): a missing package
is one line naming it, said by the command itself before any work."""

import sys

from experiments.rl.sb3_study import cli

SUBCOMMANDS = ("active", "active-study")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in SUBCOMMANDS:
        from experiments.rl.active import main
        sys.exit(main(sys.argv[2:], study=sys.argv[1] == "active-study"))
    cli()

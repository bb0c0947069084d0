"""``python -m experiments.rl``: train and compare the reference agents (PPO, RecurrentPPO; see
``python -m experiments.rl --help``), or the active-recognition agent with the subcommands
``active`` (one run) and ``active-study`` (seeds x movements, resumable); each has its own ``--help``.
All of them need the ``rl`` extra (``pip install -c constraints.txt -e ".[rl]"``)."""

import sys

from experiments.rl.reference import cli

SUBCOMMANDS = ("active", "active-study")
ACTIVE_DEFAULT_ENV = "CircleSquare-v0"  # experiments.rl.active's --env without --backbone


def _check_active_extras(argv: list[str], prog: str) -> None:
    """One line naming the ``rl`` extra when the run's env is an ap_gym id and ap_gym is missing
    (without it, such an id would only be reported as unknown)."""
    import argparse

    from experiments.extras import MissingExtraError, check_env_extra
    from experiments.outputs import exit_error

    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--env")
    pre.add_argument("--backbone")
    known, _ = pre.parse_known_args(argv)
    env = known.env or (None if known.backbone else ACTIVE_DEFAULT_ENV)
    if env is not None and not {"-h", "--help"} & set(argv):
        try:
            check_env_extra(env)
        except MissingExtraError as exc:
            exit_error(prog, exc)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in SUBCOMMANDS:
        _check_active_extras(sys.argv[2:], f"python -m experiments.rl {sys.argv[1]}")
        from experiments.rl.active import main
        sys.exit(main(sys.argv[2:], study=sys.argv[1] == "active-study"))
    cli()

"""``python -m experiments.rl``: train and compare the reference agents."""

from experiments.rl.reference import cli

if __name__ == "__main__":
    cli()

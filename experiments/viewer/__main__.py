"""``python -m experiments.viewer``: the viewer CLI."""

from experiments.viewer.cli import cli

if __name__ == "__main__":
    cli()

"""``python -m experiments.pretrain`` (also under ``torchrun``): the pretraining CLI."""

from experiments.pretrain.cli import cli

if __name__ == "__main__":
    cli()

"""Command-line flags made from a config dataclass, values checked by OmegaConf (the config library of
every command: pretraining reads YAML + ``--set a.b=v`` into OmegaConf structured configs; the RL study
and the benchmarks expose their dataclass's fields as ``--flags``).

    parser = argparse.ArgumentParser(...)
    add_config_flags(parser, RLConfig)              # --tasks, --seeds, --eval-every, ...
    config = config_from_flags(RLConfig, parser.parse_args(argv))

A field becomes ``--field-name``: tuples and lists take several values, bools are
``--flag/--no-flag``, mappings are left to files. Only the flags given override the defaults.
OmegaConf converts and checks each value against the field's type; a bad one is a one-line
ValueError naming the flag.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from typing import Any, Sequence

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

__all__ = ["add_config_flags", "config_from_flags"]

_SCALARS = (int, float, str)


def _flag_kwargs(tp: Any) -> dict[str, Any] | None:
    """argparse keywords for a field of type ``tp``; None where a flag makes no sense (mappings)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _flag_kwargs(args[0]) if len(args) == 1 else {}
    if tp is bool:
        return {"action": argparse.BooleanOptionalAction}
    if origin in (tuple, list):
        item = next((a for a in typing.get_args(tp) if a is not Ellipsis), str)
        return {"nargs": "+", "type": item if item in _SCALARS else str}
    if origin is dict or tp is dict:
        return None
    return {"type": tp} if tp in _SCALARS else {}


def add_config_flags(parser: argparse.ArgumentParser, cls: type, only: Sequence[str] | None = None) -> None:
    """A ``--field-name`` flag for every field of dataclass ``cls`` (or those in ``only``)."""
    hints = typing.get_type_hints(cls)
    defaults = cls()
    for f in dataclasses.fields(cls):
        if only is not None and f.name not in only:
            continue
        kwargs = _flag_kwargs(hints[f.name])
        if kwargs is None:
            continue
        default = getattr(defaults, f.name)
        shown = " ".join(map(str, default)) if isinstance(default, (tuple, list)) else default
        help_text = f.metadata.get("help", "")
        parser.add_argument("--" + f.name.replace("_", "-"), dest=f.name, default=argparse.SUPPRESS,
                            help=help_text if default is None else f"{help_text} (default: {shown})".strip(), **kwargs)


def config_from_flags(cls: type, args: argparse.Namespace, base: Any = None) -> Any:
    """``base`` (default ``cls()``) with the fields given on the command line, checked by OmegaConf."""
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)}
    try:
        merged = OmegaConf.merge(OmegaConf.structured(base if base is not None else cls), given)
        return OmegaConf.to_object(merged)
    except OmegaConfBaseException as exc:
        flag = "--" + (exc.full_key or "").replace("_", "-")
        raise ValueError(f"{flag}: {str(exc).splitlines()[0]}") from None

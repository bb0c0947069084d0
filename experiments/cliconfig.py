"""The command-line library of every command (pretraining, evaluation, study, RL, viewer, benchmarks).

    from experiments.cliconfig import Parser

    parser = Parser("saccade-eval", description=DESCRIPTION, epilog=EPILOG)  # the shared HelpFormatter
    parser.add_seeds(default=[0, 1, 2], help="distinct seeds, one run each")     # --seeds 0 1 2
    parser.add_overrides(help="override a config field, e.g. --set optim.lr=1e-3 (repeatable)")  # --set K=V
    parser.add_env_kwargs(help="env keyword argument, e.g. --kw glimpse_size=32 (repeatable)")    # --kw K=V
    parser.add_device()                                                          # --device cpu
    parser.add_output("--out", default="results", help="report folder", overwrite="replace an earlier report")
    parser.add_choice("--agent", ("sample", "argmax"), default="sample", help="...")
    parser.add_config_flags(RLConfig)                 # a --field-name flag for every field of a dataclass
    args = parser.parse_args(argv)
    config = parser.config_from_flags(RLConfig, args)  # checked by OmegaConf; a bad value exits 2, one line
    with parser.user_errors():                         # bad input, files, checkpoints: one line, exit 2
        run(args)

Every argument kind is a plain argparse argument: the flags, defaults and help texts stay the
command's own, ``--help`` shows the defaults (:class:`experiments.helpformat.HelpFormatter`).
``KEY=VALUE`` items are split by :func:`split_key_value` and their values read as YAML by
:func:`parse_value` (``--set`` of pretraining and the study); env keywords (``--kw``) by
:func:`parse_env_kwargs`, which also reads ``1,2,4`` as a tuple. A bad item is a ValueError naming
the flag; :func:`exit_error` prints it as ``<prog>: error: <message>`` and exits with status 2.

Dataclass flags (:func:`add_config_flags`): a field becomes ``--field-name``: tuples and lists take
several values, bools are ``--flag/--no-flag``, mappings are left to files. Only the flags given
override the defaults. OmegaConf converts and checks each value against the field's type
(:func:`config_from_flags`); a bad one is a one-line ValueError naming the flag.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import sys
import types
import typing
from typing import Any, Iterator, NoReturn, Sequence

from experiments.helpformat import HelpFormatter

__all__ = ["Parser", "HelpFormatter", "exit_error", "user_error_types", "add_config_flags", "config_from_flags", "flag_of",
           "name_flag", "split_key_value", "parse_value", "parse_overrides", "parse_env_value", "parse_env_kwarg",
           "parse_env_kwargs", "parse_size"]

_SCALARS = (int, float, str)


# ------------------------------------------------------------------------------------------- errors
def user_error_types() -> tuple[type[Exception], ...]:
    """Exceptions a command line reports as a one-line error (bad input, files, checkpoints):
    :data:`experiments.outputs.USER_ERRORS`."""
    from seqjepa.serialization import CheckpointError

    return (FileExistsError, FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError,
            ValueError, TypeError, CheckpointError)


def exit_error(prog: str, exc: BaseException | str) -> NoReturn:
    """Print ``<prog>: error: <message>`` as one line on stderr and exit with status 2."""
    message = " ".join(str(exc).split()) or type(exc).__name__
    sys.stderr.write(f"{prog}: error: {message}\n")
    raise SystemExit(2)


def flag_of(field: str) -> str:
    """The command-line flag of a config field (``batch_transitions`` -> ``--batch-transitions``)."""
    return "--" + field.replace("_", "-")


def name_flag(exc: BaseException, fields: Sequence[str]) -> str:
    """The message of ``exc`` with a leading config field (one of ``fields``) written as its flag:
    ``"eval_every must be ..."`` -> ``"--eval-every must be ..."``; other messages as they are."""
    field, _, rest = str(exc).partition(" ")
    return f"{flag_of(field)} {rest}" if field in fields else str(exc)


# ------------------------------------------------------------------------------- KEY=VALUE coercion
def split_key_value(item: str, flag: str = "--set", form: str = "KEY=VALUE",
                    identifier: bool = False) -> tuple[str, str]:
    """``"a.b=1"`` -> ``("a.b", "1")``: the key (stripped) and the raw value after the first ``=``.

    Raises:
        ValueError: ``"<flag> must look like <form>, got <item>"`` when ``item`` has no ``=`` or an
            empty key (or, with ``identifier``, a key that is not a Python identifier).
    """
    key, sep, raw = item.partition("=")
    bad = not sep or not key.strip() if identifier else not sep or not key
    if bad or (identifier and not key.strip().isidentifier()):
        raise ValueError(f"{flag} must look like {form}, got {item!r}")
    return key.strip(), raw


def parse_value(raw: str, key: str = "", flag: str = "--set") -> Any:
    """A ``KEY=VALUE`` value read as YAML (``1`` -> 1, ``true`` -> True, ``[1, 2]`` -> [1, 2], ``abc`` ->
    "abc"; an empty value -> None). The config's types convert further (OmegaConf reads ``1e-3`` as a float).

    Raises:
        ValueError: ``"<flag> '<key>': cannot parse the value ... as YAML (...)"``, or nested too deeply.
    """
    import yaml

    try:
        return yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ValueError(f"{flag} {key!r}: cannot parse the value {raw!r} as YAML ({problem})") from None
    except RecursionError:
        raise ValueError(f"{flag} {key!r}: the value is nested too deeply") from None


def parse_overrides(items: Sequence[str], flag: str = "--set", form: str = "KEY=VALUE") -> list[tuple[str, Any]]:
    """Several ``KEY=VALUE`` strings -> ``[(key, value), ...]`` in order (values by :func:`parse_value`)."""
    pairs = []
    for item in items:
        key, raw = split_key_value(item, flag, form)
        pairs.append((key, parse_value(raw, key, flag)))
    return pairs


def parse_env_value(text: str) -> Any:
    """One env keyword value: YAML scalars and lists, ``1,2,4`` (or ``(1, 2, 4)``) as a tuple; lists become
    tuples (gymnasium keywords are hashable)."""
    import yaml

    text = text.strip()
    if "," in text and not text.startswith(("[", "(", "{")):
        return tuple(parse_env_value(part) for part in text.split(",") if part.strip())
    if text.startswith("(") and text.endswith(")"):
        text = "[" + text[1:-1] + "]"
    value = yaml.safe_load(text) if text else None
    return tuple(value) if isinstance(value, list) else value


ENV_KWARG_FORM = "key=value (e.g. glimpse_size=32, scales=1,2,4)"


def parse_env_kwarg(item: str, flag: str = "--kw") -> tuple[str, Any]:
    """``"scales=1,2,4"`` -> ``("scales", (1, 2, 4))`` (:func:`parse_env_value`).

    Raises:
        ValueError: ``item`` is not ``key=value`` with an identifier key, or its value is not YAML.
    """
    import yaml

    key, raw = split_key_value(item, flag, ENV_KWARG_FORM, identifier=True)
    try:
        return key, parse_env_value(raw)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ValueError(f"{flag} {key!r}: cannot parse the value {raw!r} as YAML ({problem})") from None
    except RecursionError:
        raise ValueError(f"{flag} {key!r}: the value is nested too deeply") from None


def parse_env_kwargs(items: Sequence[str], flag: str = "--kw") -> dict[str, Any]:
    """Several ``key=value`` strings -> a keyword dict (later keys win)."""
    return dict(parse_env_kwarg(item, flag) for item in items)


def parse_size(text: str, flag: str = "--size") -> tuple[int, int]:
    """``"1160x760"`` -> ``(1160, 760)``; ValueError naming ``flag`` unless two positive ints."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"{flag} must look like WIDTHxHEIGHT (e.g. 1280x760), got {text!r}") from None
    if w < 1 or h < 1:
        raise ValueError(f"{flag} must be positive, got {text!r}")
    return w, h


# --------------------------------------------------------------------------------- dataclass flags
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
        parser.add_argument(flag_of(f.name), dest=f.name, default=argparse.SUPPRESS,
                            help=help_text if default is None else f"{help_text} (default: {shown})".strip(), **kwargs)


def config_from_flags(cls: type, args: argparse.Namespace, base: Any = None) -> Any:
    """``base`` (default ``cls()``) with the fields given on the command line, checked by OmegaConf."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)}
    try:
        merged = OmegaConf.merge(OmegaConf.structured(base if base is not None else cls), given)
        return OmegaConf.to_object(merged)
    except OmegaConfBaseException as exc:
        flag = flag_of(exc.full_key or "")
        raise ValueError(f"{flag}: {str(exc).splitlines()[0]}") from None


# ------------------------------------------------------------------------------------------ parser
class Parser(argparse.ArgumentParser):
    """An ``argparse.ArgumentParser`` with the shared :class:`HelpFormatter` (defaults shown, plain
    text) and the project's argument kinds. Each ``add_*`` takes ``group`` (an argument group of this
    parser) to put the argument there; the flags, defaults and help texts are the caller's."""

    def __init__(self, prog: str | None = None, description: str | None = None, epilog: str | None = None,
                 **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(prog=prog, description=description, epilog=epilog, **kwargs)

    # -- errors
    def exit_error(self, exc: BaseException | str) -> NoReturn:
        """``<prog>: error: <message>`` on one line, exit status 2 (:func:`exit_error`)."""
        exit_error(self.prog, exc)

    @contextlib.contextmanager
    def user_errors(self, errors: tuple[type[BaseException], ...] | None = None,
                    fields: Sequence[str] = ()) -> Iterator[None]:
        """Report the user errors raised inside (default :func:`user_error_types`) as one line,
        exit 2; a message starting with one of ``fields`` names its flag instead (:func:`name_flag`)."""
        errors = user_error_types() if errors is None else errors
        try:
            yield
        except errors as exc:
            self.exit_error(name_flag(exc, fields) if fields else exc)

    # -- argument kinds
    def _target(self, group: Any) -> Any:
        return self if group is None else group

    def add_seeds(self, flag: str = "--seeds", default: Sequence[int] = (0, 1, 2), help: str = "seeds, one run each",
                  group: Any = None) -> argparse.Action:
        """``--seeds 0 1 2``: one or more ints (a list; range and distinctness are the command's checks)."""
        return self._target(group).add_argument(flag, type=int, nargs="+", default=list(default), help=help)

    def add_seed(self, flag: str = "--seed", default: int = 0, help: str = "seed", group: Any = None) -> argparse.Action:
        """``--seed 0``: one int."""
        return self._target(group).add_argument(flag, type=int, default=default, help=help)

    def add_overrides(self, flag: str = "--set", dest: str = "overrides",
                      help: str = "override a config field, e.g. --set optim.lr=1e-3 (repeatable)",
                      group: Any = None) -> argparse.Action:
        """``--set KEY=VALUE`` (repeatable): a list of strings, read by :func:`parse_overrides` (or the
        config's ``apply_overrides``, which uses it)."""
        return self._target(group).add_argument(flag, dest=dest, action="append", default=[], metavar="KEY=VALUE",
                                                help=help)

    def add_env_kwargs(self, flag: str = "--kw", dest: str = "kw",
                       help: str = "env keyword argument, e.g. --kw glimpse_size=32 --kw scales=1,2,4 (repeatable)",
                       group: Any = None) -> argparse.Action:
        """``--kw KEY=VALUE`` (repeatable): a list of strings, read by :func:`parse_env_kwargs`."""
        return self._target(group).add_argument(flag, dest=dest, action="append", default=[], metavar="KEY=VALUE",
                                                help=help)

    def add_device(self, flag: str = "--device", default: str = "cpu", help: str = "cpu, cuda or cuda:N",
                   group: Any = None) -> argparse.Action:
        """``--device cpu``: a torch device string (resolved once by the command)."""
        return self._target(group).add_argument(flag, default=default, help=help)

    def add_output(self, flag: str = "--out", default: str | None = None, required: bool = False,
                   help: str = "output folder", overwrite: str | None = None, group: Any = None) -> argparse.Action:
        """``--out FOLDER`` and, with ``overwrite`` (its help), ``--overwrite`` right after it (checked with
        :func:`experiments.outputs.check_output_dir` before the work)."""
        target = self._target(group)
        kwargs: dict[str, Any] = {"required": True} if required else {"default": default}
        action = target.add_argument(flag, help=help, **kwargs)
        if overwrite is not None:
            self.add_overwrite(overwrite, group=group)
        return action

    def add_overwrite(self, help: str, group: Any = None) -> argparse.Action:
        """``--overwrite``: replace the results an earlier run left in the output folder."""
        return self._target(group).add_argument("--overwrite", action="store_true", help=help)

    def add_choice(self, flag: str, choices: Sequence[str], default: Any = None, help: str = "",
                   nargs: str | int | None = None, group: Any = None) -> argparse.Action:
        """``--flag VALUE`` among ``choices`` (with ``nargs``: several). Another value is one usage error
        naming the flag and the allowed values (argparse's ``invalid choice``), exit 2."""
        kwargs: dict[str, Any] = {} if nargs is None else {"nargs": nargs}
        return self._target(group).add_argument(flag, default=default, choices=tuple(choices), help=help, **kwargs)

    def add_config_flags(self, cls: type, only: Sequence[str] | None = None) -> None:
        """A ``--field-name`` flag for every field of dataclass ``cls`` (:func:`add_config_flags`)."""
        add_config_flags(self, cls, only)

    def config_from_flags(self, cls: type, args: argparse.Namespace, base: Any = None) -> Any:
        """:func:`config_from_flags`; a bad value exits 2 with one line naming the flag."""
        try:
            return config_from_flags(cls, args, base)
        except ValueError as exc:
            self.exit_error(exc)

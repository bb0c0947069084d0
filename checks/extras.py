"""Optional packages (setup.cfg extras) and the one-line error their absence gives.

The core install (``pip install -e .``) runs the environments, pretraining, evaluation and the
viewer. The RL commands need the ``rl`` extra::

    pip install -c constraints.txt -e ".[rl]"

A command that needs a package of an extra calls :func:`require` (or :func:`check_extra`) before
any work, so a missing package is one line naming the extra to install, never a bare
``ModuleNotFoundError`` deep inside a run.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from types import ModuleType

__all__ = ["EXTRAS", "MissingExtraError", "extra_of", "install_hint", "is_available", "require", "check_extra"]

EXTRAS: dict[str, dict[str, str]] = {
    # extra -> {import name: distribution name}; keep in step with setup.cfg's [options.extras_require]
    "rl": {"ap_gym": "ap-gym", "stable_baselines3": "stable-baselines3", "sb3_contrib": "sb3-contrib",
           "aiohttp": "aiohttp", "datasets": "datasets"},
}


class MissingExtraError(ImportError):
    """An optional package is not installed; the message names the extra that brings it."""


def extra_of(module: str) -> str:
    """The extra that installs ``module`` (an import name such as ``"ap_gym"``)."""
    top = module.partition(".")[0]
    for extra, packages in EXTRAS.items():
        if top in packages:
            return extra
    raise KeyError(f"{module!r} is not a package of any extra ({sorted(EXTRAS)})")


def install_hint(extra: str) -> str:
    """The command that installs ``extra`` from a checkout (the README's)."""
    return f'pip install -c constraints.txt -e ".[{extra}]"'


def is_available(module: str) -> bool:
    """Whether ``module`` can be imported, without importing it (a module set to None in
    ``sys.modules`` counts as missing, as ``import`` does)."""
    top = module.partition(".")[0]
    if top in sys.modules:
        return sys.modules[top] is not None
    try:
        return importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        return False


def _message(module: str, what: str | None) -> str:
    extra = extra_of(module)
    needs = f"{what} needs {module}" if what else f"{module} is needed"
    return f"{needs}, which is not installed: install the {extra!r} extra ({install_hint(extra)})"


def check_extra(*modules: str, what: str | None = None) -> None:
    """Raise :class:`MissingExtraError` (one line naming the extra) unless every module can be
    imported; imports nothing. ``what`` names the feature that needs them (e.g. ``"--tasks classify"``)."""
    for module in modules:
        if not is_available(module):
            raise MissingExtraError(_message(module, what))


def require(module: str, what: str | None = None) -> ModuleType:
    """``import module``, or :class:`MissingExtraError` (one line naming the extra) when the package
    is not installed (or a package it needs from an extra is not). Any other failing import inside
    an installed package is not hidden."""
    check_extra(module, what=what)
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:  # the package itself, or one it needs from the same extra
        missing = (exc.name or "").partition(".")[0]
        if missing == module.partition(".")[0] or any(missing in p for p in EXTRAS.values()):
            raise MissingExtraError(_message(missing, what)) from None
        raise


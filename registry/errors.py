"""The registry's one error base, so callers catch a single class for anything it refuses.

Every error of the package (a bad code, a refused change, a store that moved on, an unknown
version, an unreadable source, a plan that no longer applies, a missing seed, a bad instant)
derives from :class:`RegistryError`, itself an :class:`edxml.CodedError`: the API and the CLI
print the same ``code`` / ``message`` / ``location`` from :meth:`~edxml.CodedError.to_dict`
whatever layer refused. Subclasses keep the builtin base they had before (``ValueError``,
``LookupError``, ``RuntimeError``) so existing ``except`` clauses keep working.
"""

from __future__ import annotations

from edxml.errors import CodedError


class RegistryError(CodedError):
    """Anything the registry refuses; ``code`` is stable (``registry.*``, ``store.*`` ...)."""


class ChangeError(RegistryError, ValueError):
    """A change :meth:`registry.Registry.apply` refuses (``registry.exists``, ``registry.missing``,
    ``registry.stale``, ``registry.overlap``, ``registry.bad_change``); ``location`` names the
    change or the code. A ``ValueError`` as the registry's refusals always were."""


class StoreError(RegistryError, RuntimeError):
    """The store cannot do what was asked; ``code`` is stable (``store.newer``, ``store.gap``,
    ``store.diverged``, ``store.corrupt``), ``location`` the store. Defined here (re-exported by
    :mod:`registry.store`) because the SQL row readers raise it too."""

"""Who an authenticated request comes from, and which agency codes it may act for.

The HTTP layer authorises with :meth:`Principal.acts_for`: a system bound to ``000.00.00.H38``
acts for the province's People's Committee and, unless its grant is exact, for every body whose
code's parent chain (:attr:`registry.codes.AgencyCode.parent`) reaches it, e.g. a department
``000.00.01.H38`` or a commune ``001.05.13.H38``. Roles do not widen the grant: an admin or an
auditor acts for no agency unless codes were given to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from axis.store.records import Role, SystemRecord
from registry.codes import descends_from


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated system: its id, role and granted codes (with or without children).

    ``codes`` is a tuple so that it passes straight to the store's ``codes: Sequence[str]``
    arguments (a system holds a handful of codes; membership by scan is cheap).
    """

    system_id: str
    role: Role
    codes: tuple[str, ...]
    exact_codes: bool = False

    @classmethod
    def of(cls, record: SystemRecord) -> Principal:
        """The principal a stored system authenticates as."""
        return cls(record.system_id, record.role, tuple(record.codes), record.exact_codes)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_auditor(self) -> bool:
        return self.role == "auditor"

    def acts_for(self, code: str) -> bool:
        """Whether this system may send as, or read the inbox of, ``code``.

        A code that does not parse is never acted for (False, not an error): authorisation must
        not become a second validator with its own error messages.
        """
        if not self.codes:
            return False
        if self.exact_codes:
            return code in self.codes
        return descends_from(code, self.codes)

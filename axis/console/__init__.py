"""The web console at ``/console/``: the axis for its admins and auditors, in a browser.

Server-rendered pages (aiohttp-jinja2, autoescaped), one CSS file and no JavaScript build:
a document's journey, the agency registry, dead letters, systems and signers, and a dashboard.
People log in with an ``admin`` or ``auditor`` system's id and secret; an auditor sees every
page and can change nothing. :mod:`axis.console.web` is the frame (sessions, CSRF, roles, error
pages); each page is its own module. See ``docs/console.md``.
"""

from axis.console.web import PREFIX, install

__all__ = ["PREFIX", "install"]

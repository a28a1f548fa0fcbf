"""The broker: configuration, CLI and (in later issues) the HTTP API, intake, store and delivery.

Imports only point down: ``axis`` may use ``registry``, ``signing`` and ``edxml``; none of them
imports ``axis``.
"""

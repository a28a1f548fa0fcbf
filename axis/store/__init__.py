"""The broker's store: one :class:`Store` protocol, records shared by every backend.

``sqlite`` (embedded, default) lives in :mod:`axis.store.sqlite`; ``open_store`` picks the
backend from a store URL.
"""

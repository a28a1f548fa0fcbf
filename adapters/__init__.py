"""Connectors to document-management systems (webhook, drop folder, VDXP, client SDK).

Empty until the broker exists: adapters are plugins the axis finds by entry point.
"""

"""The HTTP API (aiohttp): versioned under ``/v1``, JSON for metadata, raw edXML for documents."""

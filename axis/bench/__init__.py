"""``axis bench``: the broker end to end under load, against its ceiling.

An ``axis serve`` process serves N agencies; concurrent senders post pre-signed 20 KB
documents while each agency's system long-polls its inbox, fetches and acknowledges. The same
run measures a bare aiohttp server that only reads the body and writes it to the same store
(:mod:`axis.bench.ceiling`), so the axis's figure is reported as a share of what the machine
and the store allow, and the whole exchange against a server that keeps documents in memory
(:mod:`axis.bench.floor`): what HTTP alone costs here, per document, before the axis does any
work. ``benchmarks/bench_axis.py`` runs this and commits the figures.

Modules: :mod:`~axis.bench.workload` (agencies, systems, signed documents),
:mod:`~axis.bench.load` (the load and its measurements), :mod:`~axis.bench.ceiling` (the bare
server), :mod:`~axis.bench.floor` (the in-memory one), :mod:`~axis.bench.run` (one whole run,
its result and chart).
"""

"""Helpers of ``benchmarks/bench_peers.py``: the shared market, the contenders' child processes, the report.

``market.py`` and ``botkit_child.py`` run in botkit's environment; ``nautilus_child.py`` and
``backtrader_child.py`` run in the peers' own virtual environment and import nothing of botkit
(they read the exported arrays and bars only), so the peers never become botkit dependencies.
"""

"""Venues: where the engine's orders go. One port and its implementations side by side.

- :mod:`botkit.venues.port`: the :class:`~botkit.venues.port.Venue` Protocol the engine talks to;
- :mod:`botkit.venues.buttercoin`: the Buttercoin exchange (live, or the sandbox) over the signed
  client, and its market data;
- :mod:`botkit.venues.simulated`: the simulator with its fill model, behind paper trading
  (``botkit run --dry-run``) and backtests.

Nothing is imported here, so using one venue does not load the others.
"""

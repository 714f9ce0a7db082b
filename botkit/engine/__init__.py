"""The engine: one tick (tick.py) turns a snapshot into orders through the strategies, validation,
risk (risk.py) and the write-ahead journal, whatever venue is behind the port; assembly.py builds
an engine for live, paper or backtest from a config, the only place the three differ."""

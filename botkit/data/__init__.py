"""Market data from outside botkit: importers of the public order-book datasets (Tardis.dev,
Binance's data dumps, your own CSV) into botkit's snapshot files. See docs/data.md."""

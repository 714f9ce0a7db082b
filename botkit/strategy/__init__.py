"""The strategy API: what a strategy is handed (context), the hooks it may implement (hookspecs),
what an intent must be (validation), how strategies are found and checked (plugins) and how each
one runs isolated from the others (host). Strategies import the public names from ``botkit``."""

"""The strategy API: what a strategy is handed (context), the hooks it may implement (hookspecs),
what an intent must be (validation), its typed parameters (params), how strategies are found and
checked (plugins), how each one runs isolated from the others (host), and the bars and history
it remembers (bars, history). Strategies import the public names from ``botkit``."""

"""The web dashboard and control API (``botkit web``, ``botkit run --web-port``): Starlette on
uvicorn, reading the journal through :mod:`botkit.journal.dashboard` and writing operators'
requests through :mod:`botkit.journal.control`. See docs/web.md."""

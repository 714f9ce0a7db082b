"""``botkit web``: the dashboard of every bot in the journal (SQLite or PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import click

from botkit.cli.options import config_option, fail_cleanly, load_config
from botkit.core import logs
from botkit.core.errors import ConfigError


@click.command()
@config_option
@click.option("--port", type=click.IntRange(0, 65535), help="Port to listen on ([web] port, else 8080; 0: any free "
                                                            "port, printed).")
@click.option("--host", help="Address to listen on ([web] host: 127.0.0.1). Expose it only through a TLS proxy.")
@click.option("--report", "reports", multiple=True, type=click.Path(path_type=Path, file_okay=False),
              help="A backtest --report directory to serve read-only (repeatable).")
@click.option("--secure-cookie", is_flag=True, help="Send the session cookie over HTTPS only (behind a TLS proxy).")
@fail_cleanly
def web(config_path: Path | None, port: int | None, host: str | None, reports: tuple[Path, ...],
        secure_cookie: bool) -> None:
    """Serve the web dashboard and control API of every bot in the journal, until SIGINT/SIGTERM.

    Every page and call needs the token ([web] token, token_file or BOTKIT_WEB_TOKEN). Control
    actions are journaled; each bot's daemon carries them out at its next tick."""
    from botkit.journal.queries import open_journal

    try:
        from botkit.web.app import build_app
        from botkit.web.server import bind, serve_forever, stale_after_ms, token_of, url_of
    except ModuleNotFoundError as exc:
        raise ConfigError("botkit web", f"needs the web extra ({exc.name} is not installed)",
                          'pip install "botkit[web]"') from None

    cfg = load_config(config_path)
    logs.configure(cfg["log"]["format"], cfg["log"]["level"], cfg.secrets)
    token = token_of(cfg)
    for directory in reports:
        if not (directory / "report.json").is_file():
            raise ConfigError("--report", f"{directory} holds no report.json",
                              "give a directory written by botkit backtest --report")
    engine = open_journal(cfg["journal"]["url"])
    try:
        app = build_app(engine, token, stale_after_ms=stale_after_ms(cfg), reports=reports,
                        secure_cookie=secure_cookie)
        chosen = port if port is not None else cfg["web"]["port"]
        sock = bind(host or cfg["web"]["host"], 8080 if chosen is None else chosen,
                    "--port" if port is not None else "web.port")
        click.echo(url_of(sock))
        serve_forever(app, sock)
    finally:
        engine.dispose()

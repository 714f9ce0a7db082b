"""The HTML side: the login form, the dashboard page (its data comes from the JSON API), its
script and style, and backtest reports served read-only.

A report is a ``botkit backtest --report`` directory: its ``report.json`` is shown as HTML tables
with ``equity.png`` beside them, and its four files can be downloaded. Only those four names are
served from it, so no path a request makes up can reach another file.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from botkit.web.auth import Guard, client_of, log_in, safe_next

REPORT_FILES = {"report.json": "application/json", "fills.csv": "text/csv", "orders.csv": "text/csv",
                "equity.png": "image/png"}
MAX_ROWS = 200
"""Rows of one list shown in a report page (the CSV files hold them all)."""
STATIC = {"page.css": "text/css", "dashboard.js": "text/javascript"}


def _asset(name: str) -> str:
    return resources.files("botkit.web").joinpath("static", name).read_text(encoding="utf-8")


def routes(guard: Guard, reports: Sequence[Path]) -> list[Route]:
    login_page = Template(_asset("login.html"))
    dashboard_page = Template(_asset("dashboard.html"))
    assets = {name: _asset(name) for name in STATIC}

    def login_form(request: Request) -> Response:
        return HTMLResponse(login_page.substitute(message="", next=html.escape(safe_next(request.query_params.get(
            "next")))))

    async def login(request: Request) -> Response:
        form = await request.form()
        token, target = form.get("token"), safe_next(str(form.get("next") or "/"))
        if not isinstance(token, str) or not guard.valid(token):
            await guard.failed(client_of(request))
            return HTMLResponse(login_page.substitute(message="Wrong token.", next=html.escape(target)),
                                status_code=401)
        guard.succeeded(client_of(request))
        log_in(request, guard)
        return RedirectResponse(target, status_code=303)

    def logout(request: Request) -> Response:
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    def index(request: Request) -> Response:
        return HTMLResponse(dashboard_page.substitute(csrf=html.escape(str(request.session.get("csrf", "")))))

    def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in assets:
            return PlainTextResponse("not found", status_code=404)
        return Response(assets[name], media_type=STATIC[name])

    def report_list(_request: Request) -> Response:
        items = "".join(f'<li><a href="/reports/{i}/">{html.escape(str(path))}</a></li>'
                        for i, path in enumerate(reports))
        return HTMLResponse(_page("Backtest reports", f"<ul>{items}</ul>" if reports else
                                  "<p>No report is served: start <code>botkit web --report DIR</code>.</p>"))

    def report(request: Request) -> Response:
        index_ = request.path_params["index"]
        if index_ >= len(reports):
            return PlainTextResponse("no such report", status_code=404)
        directory = reports[index_]
        name = request.path_params.get("file")
        if name is not None:
            if name not in REPORT_FILES or not (directory / name).is_file():
                return PlainTextResponse("not found", status_code=404)
            return FileResponse(directory / name, media_type=REPORT_FILES[name])
        return HTMLResponse(report_page(directory, index_))

    return [
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/", index, methods=["GET"]),
        Route("/static/{name}", static, methods=["GET"]),
        Route("/reports", report_list, methods=["GET"]),
        Route("/reports/{index:int}/", report, methods=["GET"]),
        Route("/reports/{index:int}/{file}", report, methods=["GET"]),
    ]


def report_page(directory: Path, index: int) -> str:
    """A report directory as one HTML page (read at each request: a rerun's report shows at once)."""
    from botkit.core import jsonutil

    try:
        data = jsonutil.loads((directory / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return _page(f"Report {directory}", f"<p>cannot read report.json: {html.escape(str(exc))}</p>")
    links = " ".join(f'<a href="/reports/{index}/{name}">{name}</a>' for name in REPORT_FILES
                     if (directory / name).is_file())
    image = (f'<img src="/reports/{index}/equity.png" alt="equity" style="max-width:100%">'
             if (directory / "equity.png").is_file() else "")
    return _page(f"Report {directory}", f"<p>{links}</p>{image}{_html(data)}")


def _html(value: Any) -> str:
    """JSON as nested tables, every value escaped."""
    if isinstance(value, Mapping):
        rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{_html(v)}</td></tr>"
                       for k, v in value.items())
        return f"<table>{rows}</table>"
    if isinstance(value, list):
        if value and all(isinstance(item, Mapping) for item in value):
            columns = list(dict.fromkeys(k for item in value[:MAX_ROWS] for k in item))
            head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
            body = "".join("<tr>" + "".join(f"<td>{_html(item.get(c))}</td>" for c in columns) + "</tr>"
                           for item in value[:MAX_ROWS])
            more = f"<p>{len(value) - MAX_ROWS} more</p>" if len(value) > MAX_ROWS else ""
            return f"<table><tr>{head}</tr>{body}</table>{more}"
        return html.escape(", ".join(str(item) for item in value))
    return "" if value is None else html.escape(str(value))


def _page(title: str, body: str) -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            '<link rel="icon" href="data:,"><link rel="stylesheet" href="/static/page.css"></head>'
            f'<body><header><h1>{html.escape(title)}</h1>'
            f'<a href="/">dashboard</a><a href="/reports">reports</a></header><main><section>{body}</section></main>'
            "</body></html>")

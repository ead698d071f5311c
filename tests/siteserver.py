"""Serve a fixture site on 127.0.0.1 for crawl tests: files, per-path routes, a request log.

A fixture directory holds ``site/`` (files at their live URL paths) and an optional
``routes.json`` (a list of per-path overrides: status, redirect, file, delay, content
type, headers). Stdlib only, so tests and the demo need nothing installed.

    with serve("tests/fixtures/chinadaily") as site:
        fetch(site.base_url + "/china/society")
        assert site.requests == ["/china/society"]

``python -m tests.siteserver DIR [--port N]`` serves DIR until Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

# HTML goes out with no charset on purpose: pages that declare gb2312 only in a meta
# tag must be decoded by that declaration, as on the live government site.
CONTENT_TYPES = {
    ".html": "text/html",
    ".htm": "text/html",
    ".json": "application/json",
    ".xml": "application/xml",
    ".txt": "text/plain",
    ".css": "text/css",
    ".js": "application/javascript",
    ".pdf": "application/pdf",
    ".doc": "application/msword",
    ".xls": "application/vnd.ms-excel",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
}
DEFAULT_TYPE = "application/octet-stream"
NOT_FOUND = (b"<!DOCTYPE html><html><head><title>404 Not Found</title></head>"
             b"<body><h1>404 Not Found</h1></body></html>")


class FixtureSite:
    """A running fixture server: its base URL, the paths requested so far, and stop()."""

    def __init__(self, server: _Server, thread: threading.Thread):
        self._server = server
        self._thread = thread
        self.site_dir = server.site_dir
        host, port = server.server_address[:2]
        self.port = port
        self.base_url = f"http://{host}:{port}"

    @property
    def requests(self) -> list[str]:
        """Request paths with their query strings, in arrival order (a snapshot copy)."""
        with self._server.log_lock:
            return list(self._server.request_log)

    @property
    def timed_requests(self) -> list[tuple[float, str]]:
        """(time.monotonic() at arrival, path with query) of each request, in order."""
        with self._server.log_lock:
            return list(self._server.request_times)

    def url(self, path: str) -> str:
        """The absolute URL of a site path on this server."""
        return self.base_url + path

    def stop(self) -> None:
        """Stop serving (idempotent); delayed answers in progress are dropped unanswered."""
        if self._server.stopping.is_set():
            return
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FixtureSite:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, site_dir: Path, port: int, log: bool):
        self.site_dir = Path(site_dir).resolve()
        self.root = self.site_dir / "site"
        if not self.root.is_dir():
            raise FileNotFoundError(f"{self.root} is not a directory")
        self.routes = load_routes(self.site_dir / "routes.json")
        self.log = log
        self.log_lock = threading.Lock()
        self.request_log: list[str] = []
        self.request_times: list[tuple[float, str]] = []
        self.stopping = threading.Event()
        super().__init__(("127.0.0.1", port), _Handler)

    def handle_error(self, request, client_address) -> None:
        # A client that hangs up mid-answer (a crawl timing out, a test ending) is normal;
        # anything else is a bug in this server and is shown.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FixtureSite/1.0"
    timeout = 60  # idle keep-alive connections are dropped after this
    server: _Server

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def log_message(self, format: str, *args) -> None:
        if self.server.log:
            super().log_message(format, *args)

    def _answer(self, send_body: bool) -> None:
        split = urlsplit(self.path)
        path = unquote(split.path) or "/"
        logged = path + (f"?{split.query}" if split.query else "")
        with self.server.log_lock:
            self.server.request_log.append(logged)
            self.server.request_times.append((time.monotonic(), logged))
        query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        route = match_route(self.server.routes, path, query) or {}
        delay = float(route.get("delay", 0))
        if delay and self.server.stopping.wait(delay):
            self.close_connection = True  # shutting down: drop the connection unanswered
            return
        headers = dict(route.get("headers", {}))
        if "redirect" in route:
            location = route["redirect"]
            if location.startswith("/"):
                location = f"http://{self.headers.get('Host', '127.0.0.1')}{location}"
            headers["Location"] = location
            body = f'<html><body>Moved to <a href="{location}">{location}</a></body></html>'
            self._send(route.get("status", 301), body.encode(), "text/html", headers, send_body)
            return
        if "file" in route:
            target = self._resolve("/" + route["file"].lstrip("/"))
        elif "status" in route:
            target = None
        else:
            target = self._resolve(path)
        status = route.get("status", 200)
        if target is None:
            if "status" in route:
                body = f"<html><body><h1>{status}</h1></body></html>".encode()
                self._send(status, body, "text/html", headers, send_body)
            else:
                self._send(404, NOT_FOUND, "text/html", headers, send_body)
            return
        ctype = route.get("content_type") or CONTENT_TYPES.get(target.suffix.lower(), DEFAULT_TYPE)
        self._send(status, target.read_bytes(), ctype, headers, send_body)

    def _resolve(self, path: str) -> Path | None:
        """The file a URL path names under site/, a directory's index.html, or None."""
        root = self.server.root
        candidate = (root / path.lstrip("/")).resolve()
        if candidate != root and root not in candidate.parents:
            return None  # ../ escapes
        if candidate.is_dir():
            candidate = candidate / "index.html"
        return candidate if candidate.is_file() else None

    def _send(self, status, body, ctype, headers, send_body) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, str(value))
            self.end_headers()
            if send_body:
                self.wfile.write(body)
        except (ConnectionError, TimeoutError):
            self.close_connection = True


def load_routes(path: Path) -> list[dict]:
    """The route list of a fixture directory's routes.json, or [] when there is none."""
    if not path.is_file():
        return []
    routes = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(routes, list):
        raise ValueError(f"{path}: expected a JSON list of routes")
    return routes


def match_route(routes: list[dict], path: str, query: dict[str, str]) -> dict | None:
    """The first route whose path matches and whose query params all match, or None."""
    for route in routes:
        if route.get("path", "").rstrip("/") != path.rstrip("/"):
            continue
        wanted = route.get("query", {})
        if all(query.get(k) == str(v) for k, v in wanted.items()):
            return route
    return None


def start(site_dir, port: int = 0, log: bool = False) -> FixtureSite:
    """Start serving site_dir in a background thread; call .stop() when done."""
    server = _Server(Path(site_dir), port, log)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              name="fixture-site", daemon=True)
    thread.start()
    return FixtureSite(server, thread)


@contextlib.contextmanager
def serve(site_dir, port: int = 0, log: bool = False):
    """Serve site_dir for the duration of a with-block, yielding the FixtureSite."""
    site = start(site_dir, port, log)
    try:
        yield site
    finally:
        site.stop()


def main(argv: list[str] | None = None) -> int:
    """Command line: serve a fixture directory until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m tests.siteserver",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("site_dir", help="fixture directory holding site/ and routes.json")
    parser.add_argument("--port", type=int, default=0,
                        help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--log", action="store_true", help="log each request to stderr")
    args = parser.parse_args(argv)
    site = start(args.site_dir, args.port, args.log)
    print(site.base_url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        site.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

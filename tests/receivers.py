"""Alert receivers on 127.0.0.1 for tests: an HTTP server taking Apprise `json://` posts and
an SMTP server (aiosmtpd) taking `mailto://` mail. Each keeps what it received."""

import contextlib
import email
import email.policy
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller


def free_port():
    """A port on 127.0.0.1 that nothing listens on (just released by us)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.server.posts.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format, *args):
        pass


@contextlib.contextmanager
def json_receiver(port=0):
    """Yield a server whose `.posts` lists the JSON documents posted to it; `.url` for Apprise."""
    server = ThreadingHTTPServer(("127.0.0.1", port), _Hook)
    server.posts = []
    server.url = f"json://127.0.0.1:{server.server_port}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


class _Mailbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content,
                                                      policy=email.policy.default))
        return "250 OK"


@contextlib.contextmanager
def smtp_receiver():
    """Yield a mailbox whose `.messages` lists the mails received; `.url` for Apprise."""
    mailbox = _Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    mailbox.url = (f"mailto://127.0.0.1:{port}?from=zgcwatch@example.org"
                   f"&to=reader@example.org&mode=insecure")
    try:
        yield mailbox
    finally:
        controller.stop()

# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A minimal real POP3 server on loopback (RFC 1939), for fetchmail tests.

It serves the messages of :attr:`Pop3Sink.mailbox` to any user/password and
removes the ones marked for deletion (``DELE``) when the client says ``QUIT``,
as a real mailbox does.  Only what ``poplib`` and Odoo's fetchmail use is
implemented: USER, PASS, STAT, LIST, RETR, DELE, NOOP, RSET, QUIT.
"""

import socketserver
import threading


class _Handler(socketserver.StreamRequestHandler):
    def send(self, line):
        self.wfile.write(line + b"\r\n")

    def handle(self):
        sink = self.server.sink
        with sink.lock:
            messages = list(sink.mailbox)
        deleted = set()
        self.send(b"+OK mail_reliability POP3 sink ready")
        for raw_line in self.rfile:
            command, _sep, argument = raw_line.strip().partition(b" ")
            command = command.upper()
            if command in (b"USER", b"PASS", b"NOOP"):
                self.send(b"+OK")
            elif command == b"STAT":
                live = [m for i, m in enumerate(messages) if i not in deleted]
                self.send(b"+OK %d %d" % (len(live), sum(len(m) for m in live)))
            elif command == b"LIST":
                self.send(b"+OK")
                for index, message in enumerate(messages):
                    if index not in deleted:
                        self.send(b"%d %d" % (index + 1, len(message)))
                self.send(b".")
            elif command == b"RETR":
                message = messages[int(argument) - 1]
                self.send(b"+OK %d octets" % len(message))
                for line in message.splitlines():
                    self.send(b"." + line if line.startswith(b".") else line)
                self.send(b".")
            elif command == b"DELE":
                deleted.add(int(argument) - 1)
                self.send(b"+OK")
            elif command == b"RSET":
                deleted.clear()
                self.send(b"+OK")
            elif command == b"QUIT":
                with sink.lock:
                    sink.mailbox = [m for i, m in enumerate(messages) if i not in deleted]
                self.send(b"+OK bye")
                return
            else:
                self.send(b"-ERR unknown command")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class Pop3Sink:
    def __init__(self, host="127.0.0.1"):
        self.mailbox = []
        self.lock = threading.Lock()
        self._server = _Server((host, 0), _Handler)
        self._server.sink = self
        self.host, self.port = self._server.server_address
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

#!/usr/bin/env python3
# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Odoo's mail gateway (``addons/mail/static/scripts/odoo-mailgate.py``) for Python 3.

Odoo 18 still ships the gateway script in Python 2 (``import xmlrpclib``). This is
the same program for Python 3, with the same options and the same single call:
read one email on stdin and hand it to ``mail.thread.message_process`` over
XML-RPC. A mail server runs it as a pipe, e.g. Postfix's ``master.cf``::

    odoo unix - n n - - pipe flags=q user=nobody
      argv=/usr/bin/python3 /path/to/mailgate.py -d DB -u 2 -p PASSWORD --port 8069

Exit status 0 delivers; a non-zero status makes the MTA keep or bounce the mail.
Standard library only, so the MTA's own Python runs it.
"""

import argparse
import sys
import xmlrpc.client


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-d", "--database", default="odoo", help="Odoo database name")
    parser.add_argument("-u", "--userid", type=int, default=1, help="Odoo user id")
    parser.add_argument("-p", "--password", default="admin", help="Odoo user password or API key")
    parser.add_argument("--host", default="localhost", help="Odoo host")
    parser.add_argument("--port", type=int, default=8069, help="Odoo HTTP port")
    options = parser.parse_args(argv)
    message = sys.stdin.buffer.read()
    models = xmlrpc.client.ServerProxy(
        f"http://{options.host}:{options.port}/xmlrpc/2/object", allow_none=True
    )
    try:
        models.execute_kw(
            options.database,
            options.userid,
            options.password,
            "mail.thread",
            "message_process",
            [False, xmlrpc.client.Binary(message)],
            {},
        )
    except xmlrpc.client.Fault as exc:
        sys.exit(f"xmlrpc.client.Fault: {exc.faultCode}\n{exc.faultString}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

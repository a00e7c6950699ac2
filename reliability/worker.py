# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""One real Odoo process that works the outgoing mail queue, like the queue cron.

Each round opens a fresh cursor and calls ``mail.mail.process_email_queue()``:
the very call the "Mail: Email Queue Manager" cron makes, on the same code path
(``auto_commit``: one commit per mail).  Between rounds the registry checks for
signalled changes, as a cron thread does.

    python worker.py --config odoo.conf --db DB [--until-idle] [--go FILE]

* ``--until-idle``: stop after a round that found no due mail (else: run until
  SIGTERM or the deadline; SIGKILL is what the crash scenario sends).
* ``--go FILE``: print ``ready`` once the registry is loaded, then wait for FILE,
  so that several workers start sending at the same moment.
* ``--threads N``: N such loops in parallel, each on its own cursor, as N cron
  threads of one Odoo server would run N queue lanes
  (``mail_reliability.queue_lanes``).

On exit it prints one JSON line: rounds, and the mails this process sent and the
mails it skipped because another process held or had sent them (counted from
Odoo's own log records).
"""

import argparse
import collections
import json
import logging
import os
import signal
import sys
import threading
import time

import odoo
from odoo import api
from odoo.modules.registry import Registry

SENT_LOGGER = "odoo.addons.mail.models.mail_mail"
SKIP_LOGGER = "odoo.addons.mail_reliability.models.mail_mail"


class Counter(logging.Handler):
    """Counts Odoo's per-mail INFO records without printing them."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.sent = 0
        self.skipped = 0
        self.sent_by_thread = collections.Counter()

    def emit(self, record):  # called under the handler's lock
        msg = record.msg if isinstance(record.msg, str) else ""
        if msg.startswith("Mail with ID %r and Message-Id %r successfully sent"):
            self.sent += 1
            self.sent_by_thread[threading.get_ident()] += 1
        elif "skipped: already sent or being sent elsewhere" in msg:
            self.skipped += 1


def _count_per_mail_records():
    counter = Counter()
    warnings = logging.StreamHandler(sys.stderr)
    warnings.setLevel(logging.WARNING)
    warnings.setFormatter(
        logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
    )
    for name in (SENT_LOGGER, SKIP_LOGGER):
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        logger.propagate = False
        logger.addHandler(counter)
        logger.addHandler(warnings)
    return counter


def _due_count(env):
    now = odoo.fields.Datetime.now()
    return env["mail.mail"].search_count(
        [
            ("state", "=", "outgoing"),
            "|",
            ("scheduled_date", "=", False),
            ("scheduled_date", "<=", now),
        ]
    )


def _work(registry, args, counter, stop, deadline):
    """One lane: queue runs on a cursor of its own until idle, stopped or late.
    Returns (rounds, timed_out)."""
    rounds = 0
    while not stop:
        if time.monotonic() > deadline:
            return rounds, True
        registry = registry.check_signaling()
        with registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            due = _due_count(env)
            if due:
                rounds += 1
                sent_before = counter.sent_by_thread[threading.get_ident()]
                env["mail.mail"].process_email_queue()
        if not due:
            if args.until_idle:
                break
            time.sleep(args.idle_sleep)
        elif counter.sent_by_thread[threading.get_ident()] == sent_before:
            # Everything due is held by another lane or process: do not spin on it.
            time.sleep(args.idle_sleep / 4)
    return rounds, False


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--until-idle", action="store_true")
    parser.add_argument("--go", help="wait for this file to exist before sending")
    parser.add_argument("--deadline", type=float, default=300, help="seconds; then stop anyway")
    parser.add_argument("--idle-sleep", type=float, default=0.2)
    parser.add_argument(
        "--threads", type=int, default=1, help="queue runs in parallel, one cursor each"
    )
    args = parser.parse_args(argv)

    odoo.tools.config.parse_config(
        ["-c", args.config, "-d", args.db, "--log-level=warn", "--max-cron-threads=0"]
    )
    counter = _count_per_mail_records()
    stop = []
    signal.signal(signal.SIGTERM, lambda *_a: stop.append(True))
    registry = Registry(args.db)
    deadline = time.monotonic() + args.deadline
    if args.go:
        print("ready", flush=True)
        while not os.path.exists(args.go) and time.monotonic() < deadline:
            time.sleep(0.01)
    results = []

    def lane():
        results.append(_work(registry, args, counter, stop, deadline))

    threads = [threading.Thread(target=lane, name=f"lane-{n}") for n in range(args.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rounds = sum(r[0] for r in results)
    timed_out = any(r[1] for r in results) or len(results) < args.threads
    print(
        json.dumps(
            {
                "pid": os.getpid(),
                "rounds": rounds,
                "sent": counter.sent,
                "skipped": counter.skipped,
                "timed_out": timed_out,
            }
        ),
        flush=True,
    )
    return 2 if timed_out else 0


if __name__ == "__main__":
    sys.exit(main())

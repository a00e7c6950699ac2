# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Outgoing mail with garbage everywhere, through the queue cron and the real SMTP sink.

Each generated mail (seeded: subject, addresses, extra headers and attachments
drawn from tables of hostile values) is refused at creation with a clear error,
or, after ``process_email_queue`` (the cron's call), ends sent (the sink got it
exactly once, nothing injected), deferred (outgoing, with a next attempt) or
failed with a failure type and a readable reason.  The queue run never aborts,
and a good mail queued with the garbage is delivered.
"""

import logging
import random

from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import SmtpSinkCase
from .fuzz_settings import SEED, budget

_logger = logging.getLogger(__name__)
INJECTED = "victim@evil.test"
QUIET = (
    "odoo.addons.mail.models.mail_mail",
    "odoo.addons.mail_reliability.models.mail_mail",
    "odoo.addons.mail_reliability.tools.mail_input",
    "odoo.addons.mail_reliability.models.ir_mail_server",
    "odoo.addons.base.models.ir_mail_server",
    "odoo.sql_db",
)

GARBAGE_TEXT = [
    "",
    " ",
    "NUL \x00 inside",
    "lone \ud800 surrogate",
    "escaped \udce9 byte",
    "=?utf-8?b?////?= =?x-unknown?q?Al=E9?=",
    "line\r\nBcc: " + INJECTED,
    "bidi \u202e override \ufeff bom",
    "\U0001f642" * 300,
    "x" * 20_000,
    "Caf\u00e9 cr\u00e8me",
]
GARBAGE_ADDRESSES = [
    "ok-{n}@example.com",
    "ok-{n}@example.com",
    "unknown-{n}@example.com",
    "full-{n}@example.com",
    "toobig-{n}@example.com",
    "throttled-{n}@example.com",
    "",
    "@",
    "a@@b.test",
    "Name <ok-{n}@example.com",
    "ok-{n}@example.com\r\nBcc: " + INJECTED,
    "ok-{n}@example.com\x00",
    "\u00fc-{n}@b\u00fccher.test",
    "x" * 300 + "@example.com",
    '"Quoted, Name" <ok-{n}@example.com>',
    ", ".join(f"r{i}@many.test" for i in range(300)),
]
GARBAGE_HEADERS = [
    None,
    "not a dict {",
    repr({"X-Fuzz": "v\r\nBcc: " + INJECTED}),
    repr({"X-Long": "h" * 20_000}),
    repr({"X-Nul": "a\x00b"}),
    repr({f"X-H-{i}": str(i) for i in range(300)}),
    repr({"Bad Header Name:": "x", "": "empty"}),
    repr({"Received": "from nowhere"}),
    "{'X-Eval': __import__('os').getcwd()}",
]
ATTACHMENTS = [
    None,
    ("report.pdf", b"%PDF-1.4 garbage", "application/pdf"),
    ('na\u00efve "quoted" name\r\n.txt', b"text", "text/plain"),
    ("x" * 300 + ".bin", bytes(range(256)) * 64, 'x/garbage; charset="\x7f"'),
    ("empty", b"", ""),
    ("big.bin", b"\xff" * (2 * 1024 * 1024), "application/octet-stream"),
]


@tagged("mail_reliability", "mr_fuzz", "post_install", "-at_install")
class TestOutgoingFuzz(SmtpSinkCase):
    def draw_values(self, rng, n):
        def address():
            return rng.choice(GARBAGE_ADDRESSES).format(n=n)

        values = {
            "subject": rng.choice(GARBAGE_TEXT),
            "body_html": f"<p>{rng.choice(GARBAGE_TEXT)}</p>",
            "email_from": rng.choice([f"sender-{n}@example.com", *GARBAGE_ADDRESSES[6:]]).format(
                n=n
            ),
            "email_to": address(),
            "auto_delete": False,
        }
        if rng.random() < 0.4:
            values["email_cc"] = address()
        headers = rng.choice(GARBAGE_HEADERS)
        if headers is not None:
            values["headers"] = headers
        attachment = rng.choice(ATTACHMENTS)
        if attachment:
            name, raw, mimetype = attachment
            values["attachment_ids"] = [
                (0, 0, {"name": name, "raw": raw, "mimetype": mimetype or False})
            ]
        return values

    def test_garbage_mails_through_the_queue(self):
        rng = random.Random(SEED)
        count, deadline = budget(30, share=0.15)
        rounds = 0
        while True:
            self.sink.reset()
            batch = min(count, 30)
            mails, refused = self.env["mail.mail"], 0
            for n in range(batch):
                values = self.draw_values(rng, n)
                try:
                    with self.env.cr.savepoint(), mute_logger(*QUIET):
                        mails |= self.env["mail.mail"].create(values)
                except (UserError, ValidationError) as exc:
                    refused += 1
                    self.assertTrue(str(exc), f"mail {n}: refused without a reason")
            good = self.create_outgoing_mail("good@example.com", auto_delete=False)
            self._run_queue(*QUIET, check_crash=True)
            self.assertEqual(good.state, "sent", "a good mail in the same run is delivered")
            outcomes = {"refused": refused}
            for mail in mails:
                outcome = self.assert_clear_outcome(mail)
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
            for delivery in self.sink.deliveries:
                self.assertNotIn(INJECTED, delivery.rcpt_tos, "nothing injected a recipient")
            _logger.info("Outgoing fuzz, seed %s, round %s: %s", SEED, rounds, outcomes)
            rounds += 1
            count -= batch
            if count <= 0 or (deadline and __import__("time").monotonic() > deadline):
                break

    def assert_clear_outcome(self, mail):
        label = f"mail {mail.id} to {mail.email_to!r:.80} subject {mail.subject!r:.60}"
        if mail.state == "sent":
            copies = self.sink.count_message_id(mail.message_id)
            self.assertEqual(copies, 1, f"{label}: sent {copies} times")
            return "sent"
        if mail.state == "outgoing":
            self.assertTrue(mail.scheduled_date, f"{label}: outgoing without a next attempt")
            self.assertTrue(mail.failure_reason, f"{label}: deferred without a reason")
            return "deferred"
        self.assertEqual(mail.state, "exception", f"{label}: state {mail.state}")
        self.assertTrue(mail.failure_type, f"{label}: failed without a failure type")
        self.assertTrue((mail.failure_reason or "").strip(), f"{label}: failed without a reason")
        self.assertNotIn("Error without exception", mail.failure_reason, label)
        return f"failed:{mail.failure_type}"

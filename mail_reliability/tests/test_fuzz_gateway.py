# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The incoming gateway fuzzed with real mail: nothing escapes, nothing is lost.

Real bounces and mails (``fuzz_corpus.py``) mangled with a fixed seed go through
``mail.thread.message_process`` in the real database.  For each one: no exception
escapes, the cursor is still usable, and the mail is routed to a document, read
as a bounce, or kept in the rejected incoming log with its exact bytes.
Time per mail: ``bench/gateway_fuzz.py`` (not measured here).
"""

import logging
import random
import re
import time
from unittest.mock import patch

from odoo.tests import tagged
from odoo.tools import mute_logger

from . import fuzz_corpus
from .fuzz_settings import LONG, SEED, budget
from .test_mail_incoming import THREAD_LOGGER, TestIncomingCase

_logger = logging.getLogger(__name__)
QUIET = (
    THREAD_LOGGER,
    "odoo.addons.mail_reliability.models.mail_incoming_rejection",
    "odoo.addons.mail.models.mail_thread",
    "odoo.sql_db",
    "flufl.bounce",
)


def as_bytes(message):
    """What the gateway keeps of ``message`` (bytes, or str as XML-RPC hands it)."""
    if isinstance(message, bytes):
        return message
    try:
        return message.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return message.encode("utf-8", "surrogatepass")


class GatewayFuzzCase(TestIncomingCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.thread = cls.env["res.partner"].create({"name": "Fuzz thread", "email": "t@f.test"})
        cls.posted = cls.thread.message_post(body="Anything new?", message_type="comment")
        cls.bounce_calls = []
        thread_class = type(cls.env["mail.thread"])
        original = thread_class._routing_handle_bounce

        def spy(self, email_message, message_dict):  # observes, changes nothing
            result = original(self, email_message, message_dict)
            cls.bounce_calls.append(message_dict.get("message_id"))
            return result

        patcher = patch.object(thread_class, "_routing_handle_bounce", spy)
        patcher.start()
        cls.addClassCleanup(patcher.stop)

    def reply_mail(self):
        return (
            b"In-Reply-To: "
            + self.posted.message_id.encode()
            + b"\r\n"
            + fuzz_corpus.plain_mail(to="t@f.test", subject="Re: Anything new?")
        )

    def assert_handled(self, label, message):
        """``message`` goes through the gateway: routed, read as a bounce, or kept."""
        raw = as_bytes(message)
        last_rejection = self.Rejection.search([], order="id desc", limit=1).id or 0
        bounces = len(self.bounce_calls)
        try:
            with self.real_smtp(), mute_logger(*QUIET):
                result = self.MailThread.message_process(None, message)
        except Exception as exc:
            self.fail(f"{label}: {exc.__class__.__name__}: {exc} escaped the gateway")
        self.env.cr.execute("SELECT 1")  # the cursor is usable
        self.assertEqual(self.env.cr.fetchone(), (1,), label)
        kept = self.Rejection.search([("id", ">", last_rejection)])
        if result:
            message_ids = self.env["mail.message"].search(
                [("res_id", "=", result), ("message_type", "=", "email")]
            )
            self.assertTrue(message_ids, f"{label}: routed to {result} but no message there")
            return "routed"
        if kept:
            self.assertIn(
                raw, [r.attachment_id.raw or b"" for r in kept], f"{label}: kept without its bytes"
            )
            return kept[0].reason
        if len(self.bounce_calls) > bounces:
            return "bounce"
        self.fail(f"{label}: neither routed, read as a bounce nor kept ({result!r})")


@tagged("mail_reliability", "mr_fuzz", "post_install", "-at_install")
class TestGatewayUnstorableText(GatewayFuzzCase):
    """Regression table: what the fuzz found, each case once."""

    def test_nul_in_the_subject_of_real_bounces(self):
        """The issue's case: 36 of about 100 real bounces raised ValueError (NUL) out of
        message_process; now each is kept (or read) and its subject stored without NUL."""
        for name, original in fuzz_corpus.load_corpus():
            with self.subTest(bounce=name):
                raw = fuzz_corpus.with_message_id(original, f"<nul-{name}@fuzz.test>")
                mangled = re.sub(rb"(?mi)^Subject:[ \t]*", b"Subject: A\x00B\x00 ", raw, count=1)
                if mangled == raw:
                    mangled = b"Subject: A\x00B\r\n" + raw
                outcome = self.assert_handled(name, mangled)
                rejection = self.rejection_for(f"<nul-{name}@fuzz.test>")
                if outcome not in ("routed", "bounce"):
                    self.assertIn("AB", rejection.subject or "AB")
                    self.assertNotIn("\x00", rejection.subject or "")

    def test_table(self):
        base = fuzz_corpus.plain_mail()
        cases = {
            # NUL in the Message-Id: the rejected log's duplicate search raised
            "nul_in_message_id": fuzz_corpus.with_message_id(base, "<m\x00id@x.test>"),
            "nul_in_references": b"References: <a\x00b@x.test>\r\nIn-Reply-To: <c\x00@x.test>\r\n"
            + fuzz_corpus.with_message_id(base, "<refs@x.test>"),
            "nul_in_from": fuzz_corpus.with_message_id(base, "<from@x.test>").replace(
                b"Alice Sender", b"Al\x00ice"
            ),
            # a str message (XML-RPC) with a lone surrogate: encoding it raised first
            "str_lone_surrogate": fuzz_corpus.with_message_id(base, "<str1@x.test>")
            .decode()
            .replace("Subject: ", "Subject: \ud800 "),
            "str_escaped_bytes": fuzz_corpus.with_message_id(base, "<str2@x.test>")
            .decode()
            .replace("Subject: ", "Subject: \udce9 "),
            "nul_subject_of_a_reply": self.reply_mail().replace(b"Subject: ", b"Subject: \x00"),
            "empty": b"",
            "only_nul": b"\x00" * 64,
        }
        for label, message in cases.items():
            with self.subTest(case=label):
                self.assert_handled(label, message)

    def test_reply_with_nul_is_routed_with_a_clean_subject(self):
        raw = fuzz_corpus.with_message_id(self.reply_mail(), "<clean@x.test>")
        result = self.assert_handled("reply", raw.replace(b"Subject: Re", b"Subject: R\x00e"))
        self.assertEqual(result, "routed")
        message = self.env["mail.message"].search([("message_id", "=", "<clean@x.test>")])
        self.assertEqual(message.subject, "Re: Anything new?")


@tagged("mail_reliability", "mr_fuzz", "post_install", "-at_install")
class TestGatewayFuzz(GatewayFuzzCase):
    def test_mangled_real_mail(self):
        corpus = [*fuzz_corpus.load_corpus(), ("reply_to_thread", self.reply_mail())]
        count, deadline = budget(30, share=0.4)
        outcomes = {}
        started = time.monotonic()
        for label, message in fuzz_corpus.mutants(corpus, SEED, count):
            outcome = self.assert_handled(f"seed {SEED} {label}", message)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            if deadline and time.monotonic() > deadline:
                break
        done = sum(outcomes.values())
        _logger.info(
            "Gateway fuzz, seed %s: %s mails in %.1f s: %s",
            SEED,
            done,
            time.monotonic() - started,
            ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())),
        )
        self.assertGreaterEqual(done, min(count, 30))
        if not LONG:  # random seeds may draw no reply to route
            self.assertTrue(outcomes.get("routed"), "the fuzz reaches the routing path")

    def test_each_mutation_on_each_kind_of_mail(self):
        """Every mutation once on a DSN, a non-standard bounce and a routable reply."""
        rng = random.Random(SEED)
        corpus = dict(fuzz_corpus.load_corpus())
        for name, raw in (
            ("postfix_dsn.eml", corpus["postfix_dsn.eml"]),
            ("qmail_01.txt", corpus["qmail_01.txt"]),
            ("reply", self.reply_mail()),
        ):
            for mutation in fuzz_corpus.MUTATIONS:
                label = f"{name}+{mutation.__name__}"
                with self.subTest(case=label):
                    message = fuzz_corpus.with_message_id(raw, f"<each-{label}@fuzz.test>")
                    self.assert_handled(label, mutation(message, rng))

    def test_big_attachment(self):
        """25 MB in a long run (and in bench/gateway_fuzz.py), 5 MB in bin/test."""
        size = fuzz_corpus.BIG_ATTACHMENT_BYTES if LONG else 5 * 1024 * 1024
        raw = fuzz_corpus.big_attachment(b"", random.Random(SEED), size=size)
        self.assertEqual(self.assert_handled(f"{size} bytes attachment", raw), "no_route")

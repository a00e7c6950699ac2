# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Incoming mail cannot be abused, through the real gateway (``message_process``)
and the real SMTP sink:

* no backscatter: automatic answers go only to known contacts/users or to
  senders our receiving host authenticated, and at most N per hour in all;
* database concurrency errors propagate (fetchmail leaves the mail on the POP3
  server and retries it), they are never captured as a "rejected" mail;
* the rejected log is keyed on the raw message's hash and caps its size.
"""

import os
from email import message_from_bytes, policy
from unittest.mock import patch

import psycopg2.errors

from odoo import sql_db
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from ..tools import raw_mail
from .common import create_pop3_server
from .peers import Pop3Sink
from .test_mail_incoming import TestIncomingCase, make_mail

GATEWAY_LOGGERS = (
    "odoo.addons.mail.models.mail_thread",
    "odoo.addons.mail.models.fetchmail",
    "odoo.addons.mail_reliability.models.mail_thread",
    "odoo.addons.mail_reliability.models.mail_incoming_rejection",
)
OUR_HOST = "mx.example.com"


class AbuseCase(TestIncomingCase):
    def known(self, address, name="Known Contact"):
        return self.env["res.partner"].create({"name": name, "email": address})

    def set_param(self, key, value):
        self.env["ir.config_parameter"].sudo().set_param(key, value)

    def answers(self, address):
        """Automatic answers really delivered to ``address``, plus any left queued."""
        queued = self.env["mail.mail"].sudo().search([("email_to", "ilike", address)])
        return len(self.sink.deliveries_to(address)) + len(queued)

    def assert_no_answer(self, raw, msgid, why, address="alice@customer.test"):
        with mute_logger(*GATEWAY_LOGGERS):
            self.assertFalse(self.process(raw))
        rejection = self.rejection_for(msgid)
        self.assertEqual(len(rejection), 1, "the mail is kept all the same")
        self.assertEqual(rejection.bounce_state, "suppressed")
        self.assertIn(why, rejection.bounce_note)
        self.assertFalse(rejection.bounce_date)
        self.assertEqual(self.answers(address), 0)
        return rejection

    def assert_answered(self, raw, msgid, address="alice@customer.test"):
        with mute_logger(*GATEWAY_LOGGERS):
            self.assertFalse(self.process(raw))
        rejection = self.rejection_for(msgid)
        self.assertEqual(rejection.bounce_state, "sent", rejection.bounce_note)
        self.assertTrue(rejection.bounce_date)
        self.assertEqual(self.answers(address), 1)
        return rejection


@tagged("mail_reliability", "post_install", "-at_install")
class TestNoBackscatter(AbuseCase):
    def test_unknown_sender_gets_no_answer(self):
        rejection = self.assert_no_answer(make_mail(), "<q-1@customer.test>", "not a known contact")
        self.assertEqual(rejection.reason, "no_route")
        self.assertIn("mail_reliability.authserv_id", rejection.bounce_note)
        self.assertFalse(self.sink.deliveries)

    def test_known_contact_gets_an_answer(self):
        self.known('"Alice" <Alice@Customer.TEST>')  # normalized before comparing
        self.assert_answered(make_mail(), "<q-1@customer.test>")

    def test_user_gets_an_answer(self):
        new_test_user(self.env, "mr_alice", email="alice@customer.test")
        self.assert_answered(make_mail(), "<q-1@customer.test>")

    def test_answer_goes_to_the_return_path_which_must_be_known(self):
        """The answer goes to Return-Path: a known From does not vouch for it."""
        self.known("alice@customer.test")
        raw = make_mail(headers={"Return-Path": "<victim@elsewhere.test>"})
        self.assert_no_answer(raw, "<q-1@customer.test>", "victim@elsewhere.test", "elsewhere")
        self.assertFalse(self.sink.deliveries)

    def test_dmarc_pass_from_our_receiving_host(self):
        self.set_param("mail_reliability.authserv_id", OUR_HOST)
        raw = make_mail(
            headers={
                "Authentication-Results": f"{OUR_HOST}; dkim=pass header.d=customer.test; "
                "dmarc=pass (p=reject dis=none) header.from=customer.test"
            }
        )
        self.assert_answered(raw, "<q-1@customer.test>")

    def test_aligned_spf_pass(self):
        self.set_param("mail_reliability.authserv_id", f"mx1.example.com, {OUR_HOST}")
        raw = make_mail(
            headers={
                "Return-Path": "<alice@customer.test>",
                "Authentication-Results": f"{OUR_HOST}; spf=pass (sender SPF authorized) "
                "smtp.mailfrom=customer.test",
            }
        )
        self.assert_answered(raw, "<q-1@customer.test>")

    def test_unaligned_spf_pass_is_not_enough(self):
        self.set_param("mail_reliability.authserv_id", OUR_HOST)
        raw = make_mail(
            headers={"Authentication-Results": f"{OUR_HOST}; spf=pass smtp.mailfrom=esp.test"}
        )
        self.assert_no_answer(raw, "<q-1@customer.test>", "spf=pass")

    def test_forged_authentication_results_do_not_count(self):
        self.set_param("mail_reliability.authserv_id", OUR_HOST)
        forged = "dmarc=pass (p=reject) header.from=customer.test"
        cases = [
            ("another authserv-id", [f"evil.test; {forged}"], "no Authentication-Results"),
            (
                "ours, below the real one",
                [
                    f"{OUR_HOST}; dmarc=fail (p=reject) header.from=customer.test",
                    f"{OUR_HOST}; {forged}",
                ],
                "dmarc=fail",
            ),
            ("no authserv-id (Microsoft 365 style)", [forged], "no Authentication-Results"),
        ]
        for index, (label, values, why) in enumerate(cases):
            with self.subTest(label):
                raw = make_mail(msgid=f"<forged-{index}@customer.test>")
                headers = "".join(f"Authentication-Results: {v}\n" for v in values).encode()
                self.assert_no_answer(headers + raw, f"<forged-{index}@customer.test>", why)
        self.assertFalse(self.sink.deliveries)

    def test_authentication_results_ignored_without_the_parameter(self):
        raw = make_mail(
            headers={"Authentication-Results": f"{OUR_HOST}; dmarc=pass header.from=customer.test"}
        )
        self.assert_no_answer(raw, "<q-1@customer.test>", "no receiving host is configured")

    def test_authenticated_but_answer_to_another_domain(self):
        self.set_param("mail_reliability.authserv_id", OUR_HOST)
        raw = make_mail(
            headers={
                "Return-Path": "<victim@elsewhere.test>",
                "Authentication-Results": f"{OUR_HOST}; dmarc=pass header.from=customer.test",
            }
        )
        self.assert_no_answer(raw, "<q-1@customer.test>", "outside the authenticated", "elsewhere")

    def test_stock_answers_follow_the_same_rule(self):
        """Stock's own answers (alias refusing the sender, write to catchall) too."""
        self.env["mail.alias"].create(
            {
                "alias_name": "partners-only",
                "alias_model_id": self.env["ir.model"]._get_id("res.partner"),
                "alias_contact": "partners",
                "alias_domain_id": self.alias_domain.id,
            }
        )
        refused = self.assert_no_answer(
            make_mail(to="partners-only@example.com", msgid="<refused@customer.test>"),
            "<refused@customer.test>",
            "not a known contact",
        )
        self.assertEqual(refused.reason, "alias_refused")
        catchall = self.assert_no_answer(
            make_mail(to=self.catchall_address, msgid="<catchall@customer.test>"),
            "<catchall@customer.test>",
            "not a known contact",
        )
        self.assertEqual(catchall.reason, "catchall")
        self.assertFalse(self.sink.deliveries)

    def test_global_hourly_cap(self):
        """50 answers an hour in all (default), whatever the number of senders."""
        count = 51
        self.env["res.partner"].create(
            [{"name": f"Sender {i}", "email": f"s{i}@customer.test"} for i in range(count)]
        )
        with mute_logger(*GATEWAY_LOGGERS):
            for index in range(count):
                self.process(
                    make_mail(
                        sender=f"s{index}@customer.test", msgid=f"<cap-{index}@customer.test>"
                    )
                )
        self.assertEqual(len(self.sink.deliveries), 50)
        self.assertEqual(len(self.sink.deliveries_to(f"s{count - 1}@customer.test")), 0)
        last = self.rejection_for(f"<cap-{count - 1}@customer.test>")
        self.assertEqual(last.bounce_state, "suppressed")
        self.assertIn("global rate limit", last.bounce_note)
        self.assertEqual(
            self.Rejection.search_count(
                [("message_id", "like", "<cap-%"), ("bounce_state", "=", "sent")]
            ),
            50,
        )
        # an hour later, answers go out again
        self.sink.reset()
        self.env.cr.execute(
            "UPDATE mail_incoming_rejection SET bounce_date = bounce_date - interval '61 minutes'"
            " WHERE message_id LIKE '<cap-%%'"
        )
        self.Rejection.invalidate_model()
        self.assert_answered(
            make_mail(sender="s0@customer.test", msgid="<later@customer.test>"),
            "<later@customer.test>",
            address="s0@customer.test",
        )

    def test_global_cap_parameter(self):
        self.set_param("mail_reliability.incoming_bounce_global_limit", "2")
        for index in range(3):
            self.known(f"g{index}@customer.test")
            with mute_logger(*GATEWAY_LOGGERS):
                self.process(
                    make_mail(sender=f"g{index}@customer.test", msgid=f"<g{index}@c.test>")
                )
        self.assertEqual(len(self.sink.deliveries), 2)
        self.assertEqual(self.rejection_for("<g2@c.test>").bounce_state, "suppressed")


@tagged("mail_reliability", "post_install", "-at_install")
class TestConcurrencyErrorsPropagate(AbuseCase):
    """A real lock held by another PostgreSQL connection: the gateway gives the
    error back to its caller and keeps nothing.

    Mail is routed by the fallback model (as a fetchmail server's "Create a new
    record" does), not by an alias: on an alias route stock reports the failure
    on a new cursor, which a test cursor cannot do on an aborted transaction."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # A committed row nothing in these tests writes: another connection locks it.
        cls.locked_id = cls.env.ref("base.be").id

    def hold_lock(self):
        other = sql_db.db_connect(self.env.cr.dbname).cursor()
        self.addCleanup(other.close)
        self.addCleanup(other.rollback)
        other.execute("SET lock_timeout = '5s'")
        other.execute("SELECT id FROM res_country WHERE id = %s FOR UPDATE", [self.locked_id])
        return other

    def lock_in_message_new(self):
        """The route's record creation needs the locked row (as a real write would)."""
        Partner = type(self.env["res.partner"])
        original = Partner.message_new
        locked_id = self.locked_id

        def message_new(model, msg_dict, custom_values=None):
            if "Locked" in (msg_dict.get("subject") or ""):
                model.env.cr.execute(
                    "SELECT id FROM res_country WHERE id = %s FOR UPDATE NOWAIT", [locked_id]
                )
            return original(model, msg_dict, custom_values=custom_values)

        return patch.object(Partner, "message_new", message_new)

    def test_lock_not_available_propagates_and_nothing_is_kept(self):
        self.known("alice@customer.test")  # would be answered if it were captured
        self.hold_lock()
        raw = make_mail(subject="Locked", msgid="<locked@customer.test>")
        with self.lock_in_message_new(), mute_logger(*GATEWAY_LOGGERS):
            with self.assertRaises(psycopg2.errors.LockNotAvailable):
                self.process(raw, model="res.partner")
        self.assertFalse(self.rejection_for("<locked@customer.test>"))
        self.assertFalse(self.env["res.partner"].search([("name", "=", "Locked")]))
        self.assertFalse(self.sink.deliveries)
        # the transaction is still usable: other mail goes through
        self.assertTrue(self.process(make_mail(subject="After"), model="res.partner"))

    def test_routing_failure_is_still_captured(self):
        """Contrast: an ordinary error in the same place is a captured rejection."""

        def message_new(model, msg_dict, custom_values=None):
            raise ValueError("the model refused the values")

        with patch.object(type(self.env["res.partner"]), "message_new", message_new):
            with mute_logger(*GATEWAY_LOGGERS):
                self.assertFalse(
                    self.process(make_mail(msgid="<bad@customer.test>"), model="res.partner")
                )
        rejection = self.rejection_for("<bad@customer.test>")
        self.assertEqual(rejection.reason, "processing_error")
        self.assertIn("refused the values", rejection.reason_detail)

    def test_pop3_mail_stays_on_the_server_and_is_retried(self):
        pop3 = Pop3Sink().start()
        self.addCleanup(pop3.stop)
        pop3.mailbox = [
            make_mail(subject="Locked", msgid="<locked@customer.test>"),
            make_mail(subject="Free", msgid="<free@customer.test>"),
        ]
        server = create_pop3_server(
            self.env, pop3, object_id=self.env["ir.model"]._get_id("res.partner")
        )
        other = self.hold_lock()
        # fetchmail commits after each message; the test transaction must not.
        with (
            patch.object(self.env.cr, "commit", lambda: None),
            self.lock_in_message_new(),
            self.real_smtp(),
            mute_logger(*GATEWAY_LOGGERS),
        ):
            server.fetch_mail()
            self.assertEqual(len(pop3.mailbox), 1, "the locked mail stays on the server")
            self.assertIn(b"<locked@customer.test>", pop3.mailbox[0])
            self.assertTrue(self.env["res.partner"].search([("name", "=", "Free")]))
            self.assertFalse(self.Rejection.search([("fetchmail_server_id", "=", server.id)]))
            other.rollback()  # the other transaction ends: the next fetch succeeds
            server.fetch_mail()
        self.assertEqual(pop3.mailbox, [])
        self.assertTrue(self.env["res.partner"].search([("name", "=", "Locked")]))
        self.assertFalse(self.Rejection.search([("fetchmail_server_id", "=", server.id)]))


@tagged("mail_reliability", "post_install", "-at_install")
class TestSerializationFailurePropagates(AbuseCase):
    """A real serialization failure (40001): another connection committed a new
    version of a row after this transaction's snapshot.  In its own class: the
    row stays unusable for the rest of this class's transaction."""

    def test_serialization_failure_propagates(self):
        country_id = self.env.ref("base.lu").id
        self.env.cr.execute("SELECT code FROM res_country WHERE id = %s", [country_id])
        with sql_db.db_connect(self.env.cr.dbname).cursor() as other:
            # a new row version with the same values: nothing visible changes
            other.execute("UPDATE res_country SET code = code WHERE id = %s", [country_id])
            other.commit()
        Partner = type(self.env["res.partner"])
        original = Partner.message_new

        def message_new(model, msg_dict, custom_values=None):
            model.env.cr.execute(
                "SELECT id FROM res_country WHERE id = %s FOR UPDATE", [country_id]
            )
            return original(model, msg_dict, custom_values=custom_values)

        raw = make_mail(subject="Race", msgid="<race@customer.test>")
        with patch.object(Partner, "message_new", message_new), mute_logger(*GATEWAY_LOGGERS):
            with self.assertRaises(psycopg2.errors.SerializationFailure):
                self.process(raw, model="res.partner")
        self.assertFalse(self.rejection_for("<race@customer.test>"))
        self.assertFalse(self.env["res.partner"].search([("name", "=", "Race")]))


@tagged("mail_reliability", "post_install", "-at_install")
class TestRejectionIdentityAndSize(AbuseCase):
    def test_same_message_id_different_mails_are_both_kept(self):
        self.known("alice@customer.test")
        first = make_mail(subject="First", body="one")
        second = make_mail(subject="Second", body="two")  # same Message-Id, other bytes
        with mute_logger(*GATEWAY_LOGGERS):
            self.process(first)
            self.process(second)
        rejections = self.rejection_for("<q-1@customer.test>")
        self.assertEqual(sorted(rejections.mapped("subject")), ["First", "Second"])
        self.assertEqual(rejections.mapped("received_count"), [1, 1])
        self.assertEqual(
            {r.subject: r.attachment_id.raw for r in rejections}, {"First": first, "Second": second}
        )
        self.assertEqual(
            set(rejections.mapped("raw_sha256")), {raw_mail.digest(first), raw_mail.digest(second)}
        )
        # one answer to one Message-Id
        self.assertEqual(sorted(rejections.mapped("bounce_state")), ["sent", "suppressed"])
        self.assertEqual(len(self.bounces_to("alice@customer.test")), 1)

    def test_same_raw_mail_twice_is_kept_once(self):
        """Even without a Message-Id (nothing else identifies it)."""
        self.known("alice@customer.test")
        raw = b"From: alice@customer.test\r\nTo: nobody@example.com\r\nSubject: No id\r\n\r\nHi\r\n"
        with mute_logger(*GATEWAY_LOGGERS):
            self.process(raw)
            self.process(raw)
        rejection = self.Rejection.search([("raw_sha256", "=", raw_mail.digest(raw))])
        self.assertEqual(len(rejection), 1)
        self.assertEqual(rejection.received_count, 2)
        self.assertEqual(len(self.bounces_to("alice@customer.test")), 1, "answered once")

    def test_pop3_same_mail_twice_and_a_reused_message_id(self):
        """A mailbox holding one mail twice and another mail with its Message-Id."""
        pop3 = Pop3Sink().start()
        self.addCleanup(pop3.stop)
        raw = make_mail(subject="Delivered twice")
        pop3.mailbox = [raw, raw, make_mail(subject="Reused id", body="other text")]
        server = create_pop3_server(self.env, pop3)
        with (
            patch.object(self.env.cr, "commit", lambda: None),
            self.real_smtp(),
            mute_logger(*GATEWAY_LOGGERS),
        ):
            server.fetch_mail()
        self.assertEqual(pop3.mailbox, [])
        rejections = self.Rejection.search([("fetchmail_server_id", "=", server.id)])
        self.assertEqual(
            sorted(
                zip(rejections.mapped("subject"), rejections.mapped("received_count"), strict=False)
            ),
            [("Delivered twice", 2), ("Reused id", 1)],
        )
        self.assertFalse(self.sink.deliveries, "an unknown sender is not answered")

    def test_size_cap(self):
        self.set_param("mail_reliability.rejection_max_mb", "1")
        raw = make_mail(body="The text part")
        message = message_from_bytes(raw, policy=policy.SMTP)
        message.add_attachment(
            os.urandom(3 * 1024 * 1024), maintype="application", subtype="pdf", filename="x.pdf"
        )
        raw = message.as_bytes()
        with mute_logger(*GATEWAY_LOGGERS):
            self.process(raw)
            self.process(raw)  # fetched again: the hash is the original's
        rejection = self.rejection_for("<q-1@customer.test>")
        self.assertEqual(len(rejection), 1)
        self.assertEqual(rejection.received_count, 2)
        self.assertTrue(rejection.eml_truncated)
        self.assertEqual(rejection.eml_size, len(raw))
        self.assertEqual(rejection.raw_sha256, raw_mail.digest(raw))
        stored = rejection.attachment_id.raw
        self.assertLessEqual(len(stored), 1024 * 1024)
        kept = message_from_bytes(stored, policy=policy.SMTP)
        self.assertIn(f"original size {len(raw)} bytes", kept[raw_mail.TRUNCATED_HEADER])
        self.assertEqual(kept["Subject"], "Question about my order")
        self.assertIn("The text part", kept.get_body(("plain",)).get_content())
        self.assertFalse(list(kept.iter_attachments()))

    def test_bad_size_parameter_uses_the_default(self):
        self.set_param("mail_reliability.rejection_max_mb", "lots")
        with self.assertLogs(
            "odoo.addons.mail_reliability.models.mail_incoming_rejection", "WARNING"
        ) as logs:
            self.assertEqual(self.Rejection._mr_max_eml_bytes(), 10 * 1024 * 1024)
        self.assertIn("rejection_max_mb", logs.output[0])

# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The outgoing pipeline against the real SMTP sink: classify, defer, fail, FIFO, no duplicates."""

import logging
import pathlib
import threading
from datetime import timedelta
from unittest.mock import patch

from odoo import SUPERUSER_ID, api, fields
from odoo.exceptions import UserError, ValidationError
from odoo.modules.module import get_module_path
from odoo.tests import TransactionCase, tagged
from odoo.tools import mute_logger

from odoo.addons.mail.models.ir_mail_server import IrMailServer as MailIrMailServerBase
from odoo.addons.mail.models.mail_message import Message as MailMessageBase
from odoo.addons.mail.tests.common import mail_new_test_user

from ..tools import send_run
from .common import SmtpSinkCase


@tagged("mail_reliability", "post_install", "-at_install")
class TestOutgoingOutcomes(SmtpSinkCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.record = cls.env["res.partner"].create({"name": "Thread record"})
        cls.alice = cls.env["res.partner"].create({"name": "Alice", "email": "alice@example.com"})
        cls.bob = cls.env["res.partner"].create({"name": "Bob", "email": "unknown-bob@example.com"})

    def test_greylisted_mail_is_deferred_then_delivered(self):
        mail = self.create_outgoing_mail("greylisted-ann@example.com", auto_delete=False)
        before = fields.Datetime.now()
        self._run_queue()
        self.assertEqual(mail.state, "outgoing", "a 451 must defer, not fail")
        self.assertEqual(mail.retry_count, 1)
        self.assertEqual(mail.failure_type, "mail_smtp_temporary")
        self.assertEqual((mail.smtp_code, mail.smtp_status), (451, "4.7.1"))
        self.assertIn("Greylisted", mail.failure_reason)
        self.assertTrue(mail.failure_explanation)
        # First delay of the default list is 5 minutes.
        self.assertGreaterEqual(mail.scheduled_date, before + timedelta(minutes=5))
        self.assertLessEqual(mail.scheduled_date, fields.Datetime.now() + timedelta(minutes=5))
        self.assertIn(mail.scheduled_date, self._queue_cron_triggers().mapped("call_at"))
        # Not due yet: the next run leaves it alone.
        self._run_queue()
        self.assertEqual(len(self.sink.attempts), 1)
        self.assertEqual(mail.state, "outgoing")
        # Time passes: the next run delivers it, exactly once.
        mail.scheduled_date = fields.Datetime.now() - timedelta(seconds=1)
        self._run_queue()
        self.assertEqual(mail.state, "sent")
        self.assertEqual(len(self.sink.deliveries_to("greylisted-ann@example.com")), 1)
        # Sent: the earlier attempt's error no longer shows in the queue; the count stays.
        self.assertEqual((mail.failure_type, mail.smtp_code, mail.smtp_status), (False, 0, False))
        self.assertEqual(mail.retry_count, 1)

    def test_unknown_user_fails_at_once_naming_the_server(self):
        mail = self.create_outgoing_mail("unknown-carl@example.com")
        with self.assertLogs("odoo.addons.base.models.ir_mail_server", logging.INFO) as logs:
            self._run_queue()
        failed = [line for line in logs.output if "Mail delivery failed" in line]
        self.assertEqual(len(failed), 1, logs.output)
        self.assertIn("Loopback SMTP sink", failed[0], "stock's log line names the server")
        self.assertEqual(mail.state, "exception")
        self.assertEqual(mail.failure_type, "mail_smtp_recipient")
        self.assertEqual((mail.smtp_code, mail.smtp_status), (550, "5.1.1"))
        self.assertEqual(mail.retry_count, 0)
        self.assertIn("Loopback SMTP sink", mail.failure_reason)
        self.assertNotIn("'None'", mail.failure_reason)
        self.assertIn("does not exist", mail.failure_explanation)
        self._run_queue()
        self.assertEqual(len(self.sink.attempts), 1, "permanent failures are never retried")

    def test_size_and_sender_identity_classified(self):
        big = self.create_outgoing_mail("toobig@example.com")
        sender = self.create_outgoing_mail("ok@example.com", email_from="unverified@example.com")
        self._run_queue()
        self.assertEqual((big.state, big.failure_type), ("exception", "mail_smtp_size"))
        self.assertEqual(big.smtp_status, "5.3.4")
        self.assertEqual((sender.state, sender.failure_type), ("exception", "mail_smtp_sender"))
        self.assertIn("verified Sender Identity", sender.failure_reason)

    def test_mailbox_full_is_temporary(self):
        mail = self.create_outgoing_mail("full-dan@example.com")
        self._run_queue()
        self.assertEqual((mail.state, mail.failure_type), ("outgoing", "mail_smtp_temporary"))
        self.assertEqual(mail.smtp_status, "4.2.2")

    def _post_queued(self, partners):
        return self.record.with_context(mail_notify_force_send=False).message_post(
            body="<p>Hello</p>",
            partner_ids=partners.ids,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )

    def test_refused_partner_fails_alone_whatever_the_order(self):
        for partners in (self.alice | self.bob, self.bob | self.alice):
            with self.subTest(order=partners.mapped("name")):
                self.sink.reset()
                message = self._post_queued(partners)
                self._run_queue()
                notifs = message.notification_ids.filtered(lambda n: n.notification_type == "email")
                by_partner = {n.res_partner_id: n for n in notifs}
                self.assertEqual(by_partner[self.alice].notification_status, "sent")
                bob_notif = by_partner[self.bob]
                self.assertEqual(bob_notif.notification_status, "exception")
                self.assertEqual(bob_notif.failure_type, "mail_smtp_recipient")
                self.assertEqual((bob_notif.smtp_code, bob_notif.smtp_status), (550, "5.1.1"))
                self.assertTrue(bob_notif.failure_explanation)
                self.assertTrue(message.has_error)
                self.assertEqual(len(self.sink.deliveries_to("alice@example.com")), 1)

    def test_partial_refusal_in_one_smtp_transaction(self):
        mail = self.create_outgoing_mail(
            "ok-one@example.com, unknown-zed@example.com", auto_delete=False
        )
        self._run_queue()
        self.assertEqual(mail.state, "sent", "the accepted recipient got it")
        self.assertEqual(len(self.sink.deliveries_to("ok-one@example.com")), 1)
        self.assertEqual(mail.failure_type, "mail_smtp_recipient")
        self.assertIn("unknown-zed@example.com", mail.failure_reason)

    def test_deferred_notification_is_not_red(self):
        greylisted = self.env["res.partner"].create(
            {"name": "Grey", "email": "greylisted-gus@example.com"}
        )
        message = self._post_queued(greylisted)
        self._run_queue()
        notif = message.notification_ids.filtered(lambda n: n.res_partner_id == greylisted)
        self.assertEqual(notif.notification_status, "process")
        self.assertEqual(notif.failure_type, "mail_smtp_temporary")
        self.assertFalse(message.has_error, "a deferred mail is not a failure")

    def test_gives_up_after_the_retry_window(self):
        self.env["ir.config_parameter"].set_param("mail_reliability.retry_max_hours", "1")
        mail = self.create_outgoing_mail("throttled99-eve@example.com")
        self._run_queue()
        self.assertEqual((mail.state, mail.retry_count), ("outgoing", 1))
        self.assertEqual(mail.smtp_code, 421)
        mail.write(
            {
                "first_attempt_date": fields.Datetime.now() - timedelta(hours=2),
                "scheduled_date": fields.Datetime.now() - timedelta(seconds=1),
            }
        )
        self._run_queue()
        self.assertEqual(mail.state, "exception")
        self.assertEqual(mail.smtp_status, "4.4.7")
        self.assertIn("Gave up after 2 attempts", mail.failure_reason)
        self.assertIn("421", mail.failure_reason)

    def test_deferral_never_goes_past_the_deadline(self):
        self.env["ir.config_parameter"].set_param("mail_reliability.retry_delays", "600")
        mail = self.create_outgoing_mail("throttled99-fay@example.com")
        self._run_queue()
        deadline = mail.first_attempt_date + timedelta(hours=72)
        self.assertLessEqual(mail.scheduled_date, deadline)
        self.assertGreater(mail.scheduled_date, fields.Datetime.now() + timedelta(hours=9))

    def test_connection_refused_defers_the_whole_batch(self):
        mails = self.create_outgoing_mail("a@example.com") | self.create_outgoing_mail(
            "b@example.com"
        )
        self.sink.refuse_connections()
        self._run_queue()
        self.assertEqual(set(mails.mapped("state")), {"outgoing"})
        self.assertEqual(set(mails.mapped("failure_type")), {"mail_smtp_temporary"})
        self.assertEqual(mails.mapped("retry_count"), [1, 1])
        self.sink.accept_connections()
        mails.write({"scheduled_date": fields.Datetime.now() - timedelta(seconds=1)})
        self._run_queue()
        self.assertEqual(len(self.sink.deliveries), 2)

    def test_failed_batch_updates_each_chatter_once(self):
        """A batch that cannot connect: one chatter (bus) update per message, as stock."""
        employee = mail_new_test_user(
            self.env, login="mr_bus_emp", email="emp@example.com", notification_type="email"
        )
        message = self._post_queued(self.alice | employee.partner_id)
        mails = self.env["mail.mail"].search([("mail_message_id", "=", message.id)])
        self.assertEqual(len(mails), 2, "one email per recipient group (customer, user)")
        self.sink.refuse_connections()
        notified = []
        original = MailMessageBase._notify_message_notification_update

        def record(messages):
            notified.append(messages.ids)
            return original(messages)

        with patch.object(
            MailMessageBase,
            "_notify_message_notification_update",
            autospec=True,
            side_effect=record,
        ):
            self._run_queue()
        self.assertEqual(set(mails.mapped("state")), {"outgoing"}, "both deferred")
        self.assertEqual(notified, [[message.id]])

    def test_disconnect_mid_batch_loses_nothing(self):
        mails = self.env["mail.mail"]
        for address in ("one@example.com", "dropdata-x@example.com", "two@example.com"):
            mails |= self.create_outgoing_mail(address, auto_delete=False)
        self._run_queue()  # must not raise
        first, dropped, rest = mails
        self.assertEqual(first.state, "sent")
        self.assertEqual((dropped.state, dropped.failure_type), ("outgoing", "mail_smtp_temporary"))
        self.assertEqual(dropped.retry_count, 1)
        self.assertTrue(dropped.failure_reason)
        self.assertEqual((rest.state, rest.retry_count), ("outgoing", 0))
        self.assertFalse(rest.failure_reason, "nothing is marked failed without a reason")
        self._run_queue()
        self.assertEqual(rest.state, "sent")
        self.assertEqual(dropped.state, "outgoing", "not due before its retry time")
        for address in ("one@example.com", "two@example.com"):
            self.assertEqual(len(self.sink.deliveries_to(address)), 1)

    def test_lock_reads_the_mail_in_the_same_statement(self):
        """The row lock is also the read of the mail's columns stock ``_send`` needs,
        and it refuses a mail another transaction already sent, whatever the cache says."""
        mail = self.create_outgoing_mail("lockread@example.com", auto_delete=False)
        self.env.invalidate_all()
        self.assertTrue(mail._mr_lock_for_sending())
        before = self.env.cr.sql_log_count
        self.assertEqual(
            (mail.state, mail.email_to, mail.body_html),
            ("outgoing", "lockread@example.com", "<p>Hello</p>"),
        )
        self.assertEqual(self.env.cr.sql_log_count, before, "columns already read by the lock")

        # Another transaction sent it; our cache still says outgoing.
        self.assertEqual(mail.state, "outgoing")
        self.env.cr.execute("UPDATE mail_mail SET state = 'sent' WHERE id = %s", [mail.id])
        with self.assertLogs("odoo.addons.mail_reliability.models.mail_mail", logging.INFO) as logs:
            self.assertFalse(mail._mr_lock_for_sending())
        self.assertIn("skipped", logs.output[0])
        self.assertEqual(mail.state, "sent", "the stale cached state is dropped")

    def test_default_addresses_kept_per_batch_and_company(self):
        """The default bounce / from addresses are computed once per sending batch
        and company context (not once per email), and never mixed across companies."""
        Domain = self.env["mail.alias.domain"]
        one = Domain.create({"name": "one.example", "bounce_alias": "bounce-one"})
        two = Domain.create({"name": "two.example", "bounce_alias": "bounce-two"})
        company_one = self.env["res.company"].create({"name": "One", "alias_domain_id": one.id})
        company_two = self.env["res.company"].create({"name": "Two", "alias_domain_id": two.id})
        Server = self.env["ir.mail_server"]

        def bounce(company):
            server = Server.with_context(allowed_company_ids=[company.id])
            return server._get_default_bounce_address()

        computed = []
        stock = MailIrMailServerBase._get_default_bounce_address

        def counting(server):
            computed.append(server.env.company)
            return stock(server)

        with (
            patch.object(MailIrMailServerBase, "_get_default_bounce_address", counting),
            send_run.opened(self.env),
        ):
            for _email in range(3):
                self.assertEqual(bounce(company_one), "bounce-one@one.example")
                self.assertEqual(bounce(company_two), "bounce-two@two.example")
        self.assertEqual(computed, [company_one, company_two], "once per company and batch")
        # Outside a batch, a change is seen at once.
        company_one.alias_domain_id = two
        self.assertEqual(bounce(company_one), "bounce-two@two.example")

    def test_queue_is_fifo(self):
        self.env["ir.config_parameter"].set_param("mail.mail.queue.batch.size", "1")
        newer = self.create_outgoing_mail("newer@example.com", auto_delete=False)
        older = self.create_outgoing_mail("older@example.com", auto_delete=False)
        self.env.cr.execute(
            "UPDATE mail_mail SET create_date = create_date - interval '1 day' WHERE id = %s",
            [older.id],
        )
        self._run_queue()
        self.assertEqual((older.state, newer.state), ("sent", "outgoing"))

    def test_scheduled_mail_triggers_the_queue(self):
        before = self._queue_cron_triggers()
        later = fields.Datetime.now().replace(microsecond=0) + timedelta(hours=2)
        self.create_outgoing_mail("x@example.com", scheduled_date=later)
        self.create_outgoing_mail("y@example.com")  # due now: waits for the cron
        added = self._queue_cron_triggers() - before
        self.assertEqual(added.mapped("call_at"), [later])

    def test_manual_actions(self):
        failed = self.create_outgoing_mail("unknown-ivy@example.com", auto_delete=False)
        self._run_queue()
        self.assertEqual(failed.state, "exception")
        failed.write({"email_to": "ivy@example.com"})
        with self.real_smtp():
            failed.action_send_now()
        self.assertEqual(failed.state, "sent")
        self.assertEqual(len(self.sink.deliveries_to("ivy@example.com")), 1)

        deferred = self.create_outgoing_mail("greylisted5-joe@example.com")
        self._run_queue()
        self.assertEqual(deferred.retry_count, 1)
        deferred.action_retry()
        self.assertEqual((deferred.state, deferred.retry_count), ("outgoing", 0))
        self.assertFalse(deferred.scheduled_date)
        deferred.cancel()
        self.assertEqual(deferred.state, "cancel")
        deferred.action_retry()
        self.assertEqual(deferred.state, "outgoing")
        exception = self.create_outgoing_mail("unknown-kim@example.com")
        self._run_queue()
        exception.action_cancel()
        self.assertEqual(exception.state, "cancel")

    def test_nonsense_settings_are_refused_and_cron_survives(self):
        params = self.env["ir.config_parameter"]
        for key, value in (
            ("mail_reliability.retry_delays", "5,abc"),
            ("mail_reliability.retry_delays", "-5"),
            ("mail_reliability.retry_max_hours", "soon"),
        ):
            with self.subTest(key=key, value=value), self.assertRaises(ValidationError):
                params.set_param(key, value)
        # A bad value written behind the ORM's back falls back to the defaults.
        self.env.cr.execute(
            "UPDATE ir_config_parameter SET value = 'nonsense' WHERE key = %s",
            ["mail_reliability.retry_delays"],
        )
        self.env.registry.clear_cache()
        mail = self.create_outgoing_mail("greylisted-liz@example.com")
        self._run_queue()
        self.assertEqual((mail.state, mail.retry_count), ("outgoing", 1))


@tagged("mail_reliability", "post_install", "-at_install")
class TestRetryWizard(SmtpSinkCase):
    def test_wizard_filters_and_guards_rejected_addresses(self):
        mails = self.env["mail.mail"]
        for address in (
            "unknown-a@gmail.example",
            "toobig-b@gmail.example",
            "toobig@other.example",
        ):
            mails |= self.create_outgoing_mail(address, auto_delete=False)
        self._run_queue()
        self.assertEqual(set(mails.mapped("state")), {"exception"})
        Wizard = self.env["mail.mail.retry.wizard"]
        by_domain = Wizard.create({"recipient_domain": "gmail.example"})
        self.assertEqual(by_domain.mail_count, 2)
        self.assertEqual(by_domain.recipient_failure_count, 1)
        with self.assertRaises(UserError):
            by_domain.action_retry()
        self.assertEqual(set(mails.mapped("state")), {"exception"})
        by_type = Wizard.create({"failure_type": "mail_smtp_size"})
        self.assertEqual(by_type.mail_count, 2)
        by_type.action_retry()
        self.assertEqual(mails.mapped("state"), ["exception", "outgoing", "outgoing"])
        by_domain.confirm_recipient_failures = True
        by_domain.action_retry()
        self.assertEqual(set(mails.mapped("state")), {"outgoing"})
        with self.assertRaises(UserError):
            Wizard.create({"recipient_domain": "nothing.example"}).action_retry()


@tagged("mail_reliability", "post_install", "-at_install")
class TestNoSecondCopyOnRetry(SmtpSinkCase):
    def test_retry_after_permanent_failure_skips_delivered_recipients(self):
        alice = self.env["res.partner"].create({"name": "A", "email": "alice-r@example.com"})
        big = self.env["res.partner"].create({"name": "B", "email": "toobig-r@example.com"})
        mail = self.env["mail.mail"].create(
            {
                "subject": "Two recipients",
                "body_html": "<p>x</p>",
                "email_from": "sender@example.com",
                "recipient_ids": [(6, 0, (alice | big).ids)],
                "auto_delete": False,
            }
        )
        with self.real_smtp(), mute_logger("odoo.addons.mail.models.mail_mail"):
            mail.send(raise_exception=False)
            self.assertEqual(mail.state, "exception")
            self.assertEqual(mail.failure_type, "mail_smtp_size")
            self.assertEqual(len(self.sink.deliveries_to("alice-r@example.com")), 1)
            self.assertEqual(mail.recipient_ids, big, "the delivered recipient is dropped")
            mail.action_retry()
            self.env["mail.mail"].process_email_queue()
        self.assertEqual(len(self.sink.deliveries_to("alice-r@example.com")), 1)


@tagged("mail_reliability", "post_install", "-at_install")
class TestSendRun(TransactionCase):
    """The send run (tools/send_run.py) is bound to its cursor, thread and block."""

    def test_bound_to_its_cursor_thread_and_block(self):
        self.assertIsNone(send_run.current(self.env))
        with send_run.opened(self.env, each_mail_committed=True) as run:
            self.assertIs(send_run.current(self.env), run)
            self.assertIs(send_run.current(self.env["mail.mail"].sudo().env), run)
            with send_run.opened(self.env) as nested:
                self.assertIs(nested, run, "a nested send joins the run already open")
            self.assertIs(send_run.current(self.env), run, "the nested block does not end it")
            with self.registry.cursor() as cr:
                other = api.Environment(cr, SUPERUSER_ID, {})
                self.assertIsNone(send_run.current(other), "another cursor has no run")
                with send_run.opened(other) as own:
                    self.assertIsNot(own, run)
                self.assertIs(send_run.current(self.env), run)
            seen = []
            rival = threading.Thread(target=lambda: seen.append(send_run.current(self.env)))
            rival.start()
            rival.join()
            self.assertEqual(seen, [None], "another thread does not see this run")
        self.assertIsNone(send_run.current(self.env), "the run ends with its block")

    def test_closers_run_once_even_when_the_batch_raises(self):
        calls = []
        with self.assertRaises(ZeroDivisionError), send_run.opened(self.env) as run:
            run.on_close("ledger", lambda: calls.append("ledger"))
            run.on_close("ledger", lambda: calls.append("ledger again"))
            run.on_close("other", lambda: calls.append("other"))
            run.outcome(" <a@b> ").delivered.add("x@example.com")
            self.assertEqual(run.pop_outcome("<a@b>").delivered, {"x@example.com"})
            raise ZeroDivisionError
        self.assertEqual(calls, ["other", "ledger"], "last registered, first closed; once")
        self.assertIsNone(send_run.current(self.env))

    def test_no_state_on_the_cursor_cache(self):
        """Models pass state explicitly (send run, context, gateway frame), never on
        the cursor's cache (issue #16)."""
        offenders = []
        for addon in ("mail_reliability", "mail_reliability_mass_mailing"):
            root = pathlib.Path(get_module_path(addon))
            for path in root.rglob("*.py"):
                if "tests" not in path.relative_to(root).parts and "cr.cache" in path.read_text():
                    offenders.append(str(path.relative_to(root.parent)))
        self.assertEqual(offenders, [])

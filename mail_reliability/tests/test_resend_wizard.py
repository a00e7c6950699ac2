# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The chatter's "Sending Failures" dialog against the real SMTP sink."""

import json
from datetime import datetime

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, new_test_user, tagged
from odoo.tools import mute_logger

from odoo.addons.mail.tools.discuss import Store

from .common import SmtpSinkCase

POLICY_REPLY = "554 5.7.1 <{addr}>: Recipient address rejected: Access denied by policy"


@tagged("mail_reliability", "post_install", "-at_install")
class TestResendWizard(SmtpSinkCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # "blocked": refused by policy on the first attempt only; "denied": always.
        cls.sink.add_rule(r"blocked", "rcpt", POLICY_REPLY, times=1)
        cls.sink.add_rule(r"denied", "rcpt", POLICY_REPLY)
        cls.user = new_test_user(
            cls.env,
            login="mr_resend_employee",
            groups="base.group_user,base.group_partner_manager",
            email="employee@example.com",
            name="Resend Employee",
        )
        cls.other_user = new_test_user(
            cls.env, login="mr_resend_other", groups="base.group_user", name="Other Employee"
        )
        cls.portal_user = new_test_user(
            cls.env, login="mr_resend_portal", groups="base.group_portal", name="Portal"
        )
        cls.record = cls.env["res.partner"].create({"name": "Customer file"})
        cls.alice = cls.env["res.partner"].create({"name": "Alice", "email": "alice@example.com"})
        cls.bob = cls.env["res.partner"].create({"name": "Bob", "email": "unknown-bob@example.com"})
        cls.carol = cls.env["res.partner"].create(
            {"name": "Carol", "email": "blocked-carol@example.com"}
        )

    def _post(self, partners, record=None, user=None):
        record = (record or self.record).with_user(user or self.user)
        with self.real_smtp(), mute_logger("odoo.addons.mail.models.mail_mail"):
            return record.message_post(
                body="<p>Your order</p>",
                partner_ids=partners.ids,
                message_type="comment",
                subtype_xmlid="mail.mt_comment",
            )

    def _notif(self, message, partner):
        return message.notification_ids.filtered(lambda n: n.res_partner_id == partner)

    def _wizard(self, message, user=None):
        return (
            self.env["mail.resend.message"]
            .with_user(user or self.user)
            .with_context(mail_message_to_resend=message.id)
            .create({})
        )

    def _line(self, wizard, partner):
        return wizard.partner_ids.filtered(lambda line: line.partner_id == partner)

    def _resend(self, wizard):
        with self.real_smtp(), mute_logger("odoo.addons.mail.models.mail_mail"):
            return wizard.resend_mail_action()

    def test_dialog_shows_classification_and_skips_bad_addresses(self):
        message = self._post(self.alice | self.bob | self.carol)
        self.assertEqual(self._notif(message, self.alice).notification_status, "sent")
        self.assertTrue(message.has_error, "the envelope must be red")
        wizard = self._wizard(message)
        self.assertEqual(wizard.partner_ids.partner_id, self.bob | self.carol)

        bob = self._line(wizard, self.bob)
        self.assertEqual(bob.failure_type, "mail_smtp_recipient")
        self.assertEqual((bob.smtp_code, bob.smtp_status), (550, "5.1.1"))
        self.assertIn("User unknown", bob.failure_reason, "raw server reply kept in full")
        self.assertTrue(bob.failure_explanation)
        self.assertFalse(bob.resend, "a permanent bad address is not retried by default")
        self.assertIn("unknown-bob@example.com", bob.skip_reason)

        carol = self._line(wizard, self.carol)
        self.assertEqual(carol.failure_type, "mail_smtp_policy")
        self.assertEqual((carol.smtp_code, carol.smtp_status), (554, "5.7.1"))
        self.assertIn("Access denied by policy", carol.failure_reason)
        self.assertNotEqual(carol.failure_explanation, bob.failure_explanation)
        self.assertTrue(carol.resend)
        self.assertFalse(carol.skip_reason)

        # "See Error Details" opens the line with the full reply.
        action = carol.action_open_resend_partner()
        self.assertEqual((action["res_model"], action["res_id"]), ("mail.resend.partner", carol.id))

    def test_send_and_close_resends_toggled_on_only(self):
        message = self._post(self.alice | self.bob | self.carol)
        # No sink.reset(): "blocked" must stay at its one refusal.
        self._resend(self._wizard(message))
        self.assertEqual(self._notif(message, self.carol).notification_status, "sent")
        self.assertFalse(self._notif(message, self.carol).smtp_status, "old codes cleared")
        self.assertEqual(self._notif(message, self.bob).notification_status, "canceled")
        self.assertEqual(len(self.sink.deliveries_to("blocked-carol@example.com")), 1)
        self.assertFalse(self.sink.deliveries_to("unknown-bob@example.com"))
        self.assertEqual(len(self.sink.deliveries_to("alice@example.com")), 1, "no double send")
        self.assertFalse(message.has_error, "the envelope is white again")

    def test_resent_recipient_never_gets_the_old_failed_mail(self):
        params = self.env["ir.config_parameter"].sudo()
        params.set_param("mail_reliability.daily_limit", "1")
        params.set_param("mail_reliability.quota_timezone", "UTC")
        frank = self.env["res.partner"].create({"name": "Frank", "email": "frank@example.com"})
        message = self._post(self.alice | frank)
        # One of the two got the day's only unit (which one depends on sending order).
        notifs = self._notif(message, self.alice) | self._notif(message, frank)
        self.assertEqual(sorted(notifs.mapped("notification_status")), ["exception", "sent"])
        held = notifs.filtered(lambda n: n.notification_status == "exception")
        self.assertEqual(held.failure_type, "mail_quota")
        old_mail = held.mail_mail_id.sudo()
        self.assertEqual(old_mail.state, "exception")
        params.set_param("mail_reliability.daily_limit", "10")
        self._resend(self._wizard(message))
        self.assertEqual(held.notification_status, "sent")
        self.assertFalse(old_mail.recipient_ids & (self.alice | frank))
        self.assertEqual(old_mail.state, "cancel")
        # The daily limit resets: the held mail must not go out a second time.
        old_mail.sudo().scheduled_date = False
        self.env["mail.quota.usage"]._cron_requeue_quota_held()
        with self.real_smtp(), mute_logger("odoo.addons.mail.models.mail_mail"):
            self.env["mail.mail"].process_email_queue()
        self.assertEqual(len(self.sink.deliveries_to("frank@example.com")), 1)
        self.assertEqual(len(self.sink.deliveries_to("alice@example.com")), 1)

    def test_second_failure_is_classified_again(self):
        dave = self.env["res.partner"].create({"name": "Dave", "email": "denied-dave@example.com"})
        message = self._post(self.alice | dave)
        notif = self._notif(message, dave)
        self.assertEqual(notif.notification_status, "exception")
        notif.sudo().write({"smtp_code": 0, "smtp_status": False, "failure_type": "unknown"})
        self._resend(self._wizard(message))
        self.assertEqual(notif.notification_status, "exception")
        self.assertEqual(notif.failure_type, "mail_smtp_policy")
        self.assertEqual((notif.smtp_code, notif.smtp_status), (554, "5.7.1"))
        self.assertEqual(len(self.sink.attempts), 2, "one refusal per attempt")
        self.assertTrue(message.has_error)

    def test_ignore_all_cancels_and_notifies_the_bus(self):
        message = self._post(self.alice | self.bob | self.carol)
        wizard = self._wizard(message)
        last_bus = self.env["bus.bus"].sudo().search([], order="id desc", limit=1).id
        wizard.cancel_mail_action()
        self.env.cr.precommit.run()  # bus messages are created on commit
        self.assertEqual(
            set(
                (self._notif(message, self.bob) | self._notif(message, self.carol)).mapped(
                    "notification_status"
                )
            ),
            {"canceled"},
        )
        self.assertEqual(self._notif(message, self.alice).notification_status, "sent")
        self.assertFalse(message.has_error)
        bus = self.env["bus.bus"].sudo().search([("id", ">", last_bus)])
        payloads = [json.loads(b.message) for b in bus]
        statuses = {
            n["notification_status"]
            for p in payloads
            for n in (p.get("payload") or {}).get("mail.notification", [])
        }
        self.assertIn("canceled", statuses, "the envelope turns white without reload")
        self.assertFalse(self.sink.attempts[2:], "nothing resent")

    def test_corrected_email_is_validated_then_used(self):
        message = self._post(self.alice | self.bob)
        form = Form(
            self.env["mail.resend.message"]
            .with_user(self.user)
            .with_context(mail_message_to_resend=message.id)
        )
        with form.partner_ids.edit(0) as line:
            self.assertFalse(line.resend)
            line.email = "bob@example.com"
            self.assertTrue(line.resend, "a corrected address is tried again")
            self.assertFalse(line.skip_reason)
        wizard = form.save()
        self.assertEqual(self.bob.email, "bob@example.com", "stock: the partner is corrected")
        self.sink.reset()
        self._resend(wizard)
        self.assertEqual(self._notif(message, self.bob).notification_status, "sent")
        self.assertEqual(len(self.sink.deliveries_to("bob@example.com")), 1)

    def test_invalid_corrected_email_is_refused(self):
        message = self._post(self.alice | self.carol)
        wizard = self._wizard(message)
        line = self._line(wizard, self.carol)
        with self.assertRaisesRegex(ValidationError, "carol at example"):
            line.email = "carol at example"
        self.assertEqual(self.carol.email, "blocked-carol@example.com", "contact untouched")
        # An address broken elsewhere is caught before sending.
        self.carol.sudo().email = "carol at example"
        with self.assertRaisesRegex(UserError, "carol at example"):
            self._resend(self._wizard(message))
        self.assertEqual(self._notif(message, self.carol).notification_status, "exception")
        self.assertEqual(len(self.sink.attempts), 1, "nothing sent")

    def test_blacklisted_address_is_toggled_off(self):
        message = self._post(self.alice | self.carol)
        self.env["mail.blacklist"].sudo()._add("blocked-carol@example.com")
        line = self._line(self._wizard(message), self.carol)
        self.assertFalse(line.resend)
        self.assertIn("blacklisted", line.skip_reason)

    def test_access_only_readers_of_the_message(self):
        secret = self.env["mail.blacklist"].sudo().create({"email": "x@example.org"})
        message = self._post(self.carol, record=secret, user=self.env.ref("base.user_admin"))
        self.assertEqual(self._notif(message, self.carol).notification_status, "exception")
        with self.assertRaises(AccessError):
            self._wizard(message, user=self.other_user)
        # The admin who wrote it may act on it.
        self.assertTrue(self._wizard(message, user=self.env.ref("base.user_admin")).partner_ids)
        # Existing wizard reused by someone who may not read the message.
        wizard = self._wizard(message, user=self.env.ref("base.user_admin"))
        with self.assertRaises(AccessError):
            wizard.with_user(self.other_user).cancel_mail_action()

    def test_portal_never_sees_failure_reasons(self):
        message = self._post(self.alice | self.bob)
        notif = self._notif(message, self.bob).with_user(self.portal_user)
        for field in ("failure_reason", "smtp_code", "smtp_status", "failure_explanation"):
            with self.assertRaises(AccessError, msg=field):
                notif.read([field])
        with self.assertRaises(AccessError):
            self._wizard(message, user=self.portal_user)

    def test_deferred_mail_is_retrying_not_failed(self):
        erin = self.env["res.partner"].create(
            {"name": "Erin", "email": "greylisted-erin@example.com"}
        )
        message = self._post(erin)
        notif = self._notif(message, erin)
        self.assertEqual(notif.notification_status, "process")
        self.assertEqual(notif.failure_type, "mail_smtp_temporary")
        self.assertFalse(message.has_error, "deferred is not failed: envelope not red")
        with self.assertRaises(UserError):
            # Nothing to resend: stock raises when no failed notification is linked.
            self._wizard(message).partner_ids.action_resend()
        data = Store(notif.with_user(self.user)).get_result()
        (entry,) = data["mail.notification"]
        mail = notif.mail_mail_id
        self.assertEqual(entry["mr_attempt"], mail.retry_count + 1)
        self.assertEqual(entry["mr_attempt"], 2)
        self.assertEqual(fields.Datetime.from_string(entry["mr_next_attempt"]), mail.scheduled_date)
        self.assertGreater(mail.scheduled_date, datetime.now())
        # Portal users get no retry details.
        portal_data = Store(notif.with_user(self.portal_user)).get_result()
        self.assertNotIn("mr_next_attempt", portal_data["mail.notification"][0])

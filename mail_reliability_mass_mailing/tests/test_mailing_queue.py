# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import datetime, timedelta
from unittest.mock import patch

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.base.tests.test_ir_cron import CronMixinCase
from odoo.addons.mail_reliability.tests.common import SmtpSinkCase
from odoo.addons.mass_mailing.models.mailing import MassMailing

QUEUE_CRON = "mass_mailing.ir_cron_mass_mailing_queue"
QUEUE_LOGGER = "odoo.addons.mail_reliability_mass_mailing.models.mailing_mailing"


class MailingQueueCase(SmtpSinkCase, CronMixinCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Nothing else in the queue but what each test creates.
        cls.env["mailing.mailing"].search([("state", "in", ("in_queue", "sending"))]).write(
            {"state": "draft"}
        )
        cls.contacts = cls.env["mailing.contact"].create(
            [{"name": f"Reader {n}", "email": f"reader{n}@example.com"} for n in range(4)]
        )
        cls.mlist = cls.env["mailing.list"].create(
            {"name": "Readers", "contact_ids": [(6, 0, cls.contacts.ids)]}
        )

    def create_mailing(self, name, created, mlist=None, **values):
        mailing = self.env["mailing.mailing"].create(
            {
                "subject": name,
                "body_html": f"<p>{name}</p>",
                "email_from": "news@example.com",
                "mailing_model_id": self.env.ref("mass_mailing.model_mailing_list").id,
                "contact_list_ids": [(6, 0, (mlist or self.mlist).ids)],
                **values,
            }
        )
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE mailing_mailing SET create_date = %s WHERE id = %s", [created, mailing.id]
        )
        mailing.invalidate_recordset(["create_date"])
        return mailing

    def schedule(self, mailing, when):
        mailing.write({"schedule_type": "scheduled", "schedule_date": when})
        mailing.action_put_in_queue()

    def process_queue(self):
        self.env["mailing.mailing"]._process_mass_mailing_queue()
        self.env.invalidate_all()


@tagged("mail_reliability", "post_install", "-at_install")
class TestMailingQueueFifo(MailingQueueCase):
    def test_seed_example_processed_by_creation_date(self):
        """Campaign_1, 2, 3 created on 1, 2, 3 January go out 1, 2, 3 whatever ids/schedules."""
        now = fields.Datetime.now()
        # Created out of id order, scheduled in reverse order: neither may matter.
        campaign_3 = self.create_mailing("Campaign_3", datetime(2026, 1, 3, 9))
        campaign_1 = self.create_mailing("Campaign_1", datetime(2026, 1, 1, 9))
        campaign_2 = self.create_mailing("Campaign_2", datetime(2026, 1, 2, 9))
        self.schedule(campaign_1, now - timedelta(minutes=1))
        self.schedule(campaign_2, now - timedelta(minutes=2))
        self.schedule(campaign_3, now - timedelta(minutes=3))
        campaigns = campaign_1 | campaign_2 | campaign_3
        self.assertEqual(campaigns.mapped("queue_position"), [1, 2, 3])
        self.assertEqual(campaign_1.queue_blocked_by_id, self.env["mailing.mailing"])
        self.assertEqual(campaign_2.queue_blocked_by_id, campaign_1)
        self.assertEqual(campaign_3.queue_blocked_by_id, campaign_1)

        seen = []
        original = MassMailing._action_send_mail

        def spy(mailings, res_ids=None):
            for mailing in mailings:
                others = campaigns - mailing
                seen.append(
                    (
                        mailing.subject,
                        mailing.state,
                        {m.subject: m.state for m in others},
                        {m.subject: len(m.mailing_trace_ids) for m in others},
                    )
                )
            return original(mailings, res_ids=res_ids)

        with (
            patch.object(MassMailing, "_action_send_mail", spy),
            self.capture_triggers(QUEUE_CRON) as triggers,
        ):
            self.process_queue()
        self.assertEqual([s[0] for s in seen], ["Campaign_1", "Campaign_2", "Campaign_3"])
        # Campaign_2 does not start while Campaign_1 is sending.
        subject, state, others, traces = seen[0]
        self.assertEqual(state, "sending")
        self.assertEqual(others, {"Campaign_2": "in_queue", "Campaign_3": "in_queue"})
        self.assertEqual(traces, {"Campaign_2": 0, "Campaign_3": 0})
        self.assertEqual(seen[1][2], {"Campaign_1": "done", "Campaign_3": "in_queue"})
        self.assertEqual(set(campaigns.mapped("state")), {"done"})
        self.assertEqual(campaigns.mapped("queue_position"), [0, 0, 0])
        # Each time a head reached done with mailings behind it, the cron was re-triggered.
        self.assertEqual(len(triggers.records), 2)
        for campaign in campaigns:
            self.assertEqual(len(campaign.mailing_trace_ids), 4)
        # The mails are queued in the email queue, not force-sent.
        mails = self.env["mail.mail"].search([("mailing_id", "in", campaigns.ids)])
        self.assertEqual(len(mails), 12)
        self.assertEqual(set(mails.mapped("state")), {"outgoing"})
        self.assertFalse(self.sink.deliveries)
        # The email queue sends them, oldest campaign first.
        with self.real_smtp():
            self.env["mail.mail"].process_email_queue()
        self.assertEqual(
            [m.subject for m in self.sink.deliveries][:4], ["Campaign_1"] * 4, self.sink.deliveries
        )
        self.assertEqual(len(self.sink.deliveries), 12)

    def test_scheduled_mailing_takes_its_place_once_due(self):
        now = fields.Datetime.now()
        older = self.create_mailing("Older, scheduled", datetime(2026, 1, 1, 9))
        newer = self.create_mailing("Newer, now", datetime(2026, 1, 2, 9))
        self.schedule(older, now + timedelta(days=1))
        newer.action_launch()
        self.assertEqual((older.queue_position, newer.queue_position), (0, 1))
        self.process_queue()
        self.assertEqual((older.state, newer.state), ("in_queue", "done"))
        self.assertFalse(older.mailing_trace_ids)
        # Time passes: the scheduled one is due. It waits behind an older mailing still sending.
        stuck = self.create_mailing("Stuck, sending", datetime(2025, 12, 31, 9))
        stuck.state = "sending"
        older.schedule_date = now - timedelta(minutes=1)
        self.env.invalidate_all()
        self.assertEqual((stuck.queue_position, older.queue_position), (1, 2))
        self.assertEqual(older.queue_blocked_by_id, stuck)
        self.assertEqual(older.queue_blocked_by_id.display_name, "Stuck, sending")

    def test_kpi_reports_go_out_once_per_run(self):
        """Stock's KPI report step runs once per queue run, after the heads."""
        self.env["ir.config_parameter"].sudo().set_param("mass_mailing.mass_mailing_reports", True)
        finished = self.create_mailing("Sent two days ago", datetime(2025, 12, 1, 9))
        finished.write(
            {
                "state": "done",
                "sent_date": fields.Datetime.now() - timedelta(days=2),
                "kpi_mail_required": True,
            }
        )
        campaign_1 = self.create_mailing("Campaign_1", datetime(2026, 1, 1, 9))
        campaign_2 = self.create_mailing("Campaign_2", datetime(2026, 1, 2, 9))
        (campaign_1 | campaign_2).action_launch()
        calls = []
        original = MassMailing._action_send_statistics

        def spy(mailings):
            calls.append((mailings.ids, (campaign_1 | campaign_2).mapped("state")))
            return original(mailings)

        with patch.object(MassMailing, "_action_send_statistics", spy):
            self.process_queue()
        self.assertEqual(calls, [(finished.ids, ["done", "done"])])
        self.assertFalse(finished.kpi_mail_required)


@tagged("mail_reliability", "post_install", "-at_install")
class TestMailingQueueBlocking(MailingQueueCase):
    def test_failing_head_blocks_then_cancel_unblocks(self):
        broken = self.create_mailing(
            "Campaign_1",
            datetime(2026, 1, 1, 9),
            body_html='<p>Hello <t t-out="object.mr_no_such_field"/></p>',
        )
        campaign_2 = self.create_mailing("Campaign_2", datetime(2026, 1, 2, 9))
        campaign_3 = self.create_mailing("Campaign_3", datetime(2026, 1, 3, 9))
        (broken | campaign_2 | campaign_3).action_launch()
        with mute_logger(QUEUE_LOGGER, "odoo.addons.mail.models.mail_render_mixin"):
            self.process_queue()
            self.process_queue()
        # The head keeps blocking; its error is shown; the transaction is usable.
        self.assertEqual(broken.state, "in_queue")
        self.assertEqual(broken.queue_error_count, 2)
        self.assertIn("mr_no_such_field", broken.queue_error)
        self.assertFalse(broken.mailing_trace_ids, "the failed run was rolled back")
        self.assertFalse(self.env["mail.mail"].search([("mailing_id", "=", broken.id)]))
        notes = broken.message_ids.filtered(
            lambda m: "could not process this mailing" in (m.body or "")
        )
        self.assertEqual(len(notes), 2)
        self.assertEqual((campaign_2.state, campaign_3.state), ("in_queue", "in_queue"))
        self.assertFalse((campaign_2 | campaign_3).mailing_trace_ids)
        self.assertEqual(campaign_3.queue_position, 3)
        self.assertEqual(campaign_3.queue_blocked_by_id, broken)

        with self.capture_triggers(QUEUE_CRON) as triggers:
            broken.action_cancel()
        self.assertEqual(len(triggers.records), 1)
        self.assertLessEqual(triggers.records.call_at, fields.Datetime.now())
        self.assertEqual(broken.state, "draft")
        self.assertEqual(campaign_2.queue_position, 1)
        self.process_queue()
        self.assertEqual((campaign_2.state, campaign_3.state), ("done", "done"))
        self.assertEqual(len((campaign_2 | campaign_3).mailing_trace_ids), 8)

    def test_fixed_head_is_retried_and_error_cleared(self):
        broken = self.create_mailing(
            "Campaign_1",
            datetime(2026, 1, 1, 9),
            body_html='<p>Hello <t t-out="object.mr_no_such_field"/></p>',
        )
        broken.action_launch()
        with mute_logger(QUEUE_LOGGER, "odoo.addons.mail.models.mail_render_mixin"):
            self.process_queue()
        self.assertTrue(broken.queue_error)
        with self.capture_triggers(QUEUE_CRON) as triggers:
            broken.body_html = "<p>Hello <t t-out='object.name'/></p>"
        self.assertEqual(len(triggers.records), 1, "fixing the head wakes the queue")
        self.process_queue()
        self.assertEqual(broken.state, "done")
        self.assertFalse(broken.queue_error)
        self.assertEqual(len(broken.mailing_trace_ids), 4)

    def test_cancel_sent_mailing_is_refused(self):
        mailing = self.create_mailing("Sent", datetime(2026, 1, 1, 9))
        mailing.action_launch()
        self.process_queue()
        with self.assertRaises(UserError):
            mailing.action_cancel()
        self.assertEqual(mailing.state, "done")


@tagged("mail_reliability", "post_install", "-at_install")
class TestMailingQueueCancelSending(MailingQueueCase):
    def test_cancel_sending_cancels_unsent_mails_only(self):
        mailing = self.create_mailing("Sending", datetime(2026, 1, 1, 9), keep_archives=True)
        mailing.action_launch()
        self.process_queue()
        # A run that died half way leaves the mailing "sending" with mails in the queue.
        mailing.state = "sending"
        mails = self.env["mail.mail"].search([("mailing_id", "=", mailing.id)], order="id")
        self.assertEqual(len(mails), 4)
        first = mails[0]
        with self.real_smtp():
            self.env["mail.mail"].process_email_queue(ids=first.ids)
        self.assertEqual(first.state, "sent")
        self.assertEqual(len(self.sink.deliveries), 1)

        with self.capture_triggers(QUEUE_CRON) as triggers:
            mailing.action_cancel()
        self.assertEqual(len(triggers.records), 1)
        self.assertEqual(mailing.state, "draft")
        self.assertEqual(first.state, "sent")
        self.assertEqual(first.mailing_trace_ids.trace_status, "sent")
        rest = mails - first
        self.assertEqual(set(rest.mapped("state")), {"cancel"})
        self.assertEqual(set(rest.mailing_trace_ids.mapped("trace_status")), {"cancel"})
        self.assertEqual(mailing.canceled, 3)
        self.assertIn("3 unsent email(s) cancelled", mailing.message_ids[0].body)
        with self.real_smtp():
            self.env["mail.mail"].process_email_queue()
        self.assertEqual(len(self.sink.deliveries), 1, "nothing more goes out")


@tagged("mail_reliability", "post_install", "-at_install")
class TestMailingRetryFailed(MailingQueueCase):
    def test_retry_failed_counts_classified_failures(self):
        contacts = self.env["mailing.contact"].create(
            [
                {"name": "Ok", "email": "ok-reader@example.com"},
                {"name": "Gone", "email": "unknown-reader@example.com"},
            ]
        )
        mlist = self.env["mailing.list"].create(
            {"name": "Mixed", "contact_ids": [(6, 0, contacts.ids)]}
        )
        mailing = self.create_mailing("Retry", datetime(2026, 1, 1, 9), mlist=mlist)
        mailing.action_launch()
        self.process_queue()
        self._run_queue()
        self.env.invalidate_all()
        self.assertEqual(mailing.failed, 1)
        failed = mailing.mailing_trace_ids.filtered(lambda t: t.trace_status == "error")
        self.assertEqual(failed.failure_type, "mail_smtp_recipient")
        with self.capture_triggers(QUEUE_CRON) as triggers:
            mailing.action_retry_failed()
        self.assertEqual(len(triggers.records), 1)
        self.assertEqual(mailing.state, "in_queue")
        self.assertFalse(failed.exists())
        self.process_queue()
        self.assertEqual(mailing.state, "done")
        retried = self.env["mail.mail"].search(
            [("mailing_id", "=", mailing.id), ("state", "=", "outgoing")]
        )
        self.assertEqual(retried.mapped("email_to"), ["unknown-reader@example.com"])

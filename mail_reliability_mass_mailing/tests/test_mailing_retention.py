# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A mailing with "Keep Archives" keeps its sent emails: retention is opt-in."""

from datetime import timedelta

from odoo import fields
from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.mail_reliability.tests.common import SmtpSinkCase


@tagged("mail_reliability", "post_install", "-at_install")
class TestKeepArchivesRetention(SmtpSinkCase):
    def test_kept_archives_survive_the_retention_until_opted_in(self):
        contacts = self.env["mailing.contact"].create(
            [{"name": f"Keeper {n}", "email": f"keeper{n}@example.com"} for n in range(3)]
        )
        mailing_list = self.env["mailing.list"].create(
            {"name": "Keepers", "contact_ids": [(6, 0, contacts.ids)]}
        )
        mailing = self.env["mailing.mailing"].create(
            {
                "subject": "Archived newsletter",
                "body_html": "<p>News to keep</p>",
                "email_from": "news@example.com",
                "mailing_model_id": self.env.ref("mass_mailing.model_mailing_list").id,
                "contact_list_ids": [(6, 0, mailing_list.ids)],
                "keep_archives": True,
            }
        )
        with self.real_smtp(), mute_logger("odoo.addons.mail.models.mail_mail"):
            mailing.action_launch()
            mailing._process_mass_mailing_queue()
            self.env["mail.mail"].process_email_queue()
        self.assertEqual(len(self.sink.deliveries), 3)
        mails = self.env["mail.mail"].search([("mailing_id", "=", mailing.id)])
        self.assertEqual(len(mails), 3)
        self.assertEqual(set(mails.mapped("state")), {"sent"})
        self.assertFalse(any(mails.mapped("auto_delete")), "Keep Archives: auto_delete off")
        # a year later
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE mail_mail SET write_date = %s WHERE id IN %s",
            [fields.Datetime.now() - timedelta(days=365), tuple(mails.ids)],
        )
        self.env.invalidate_all()
        Vacuum = self.env["mail.reliability.vacuum"]
        Vacuum._vacuum_run()
        self.assertEqual(mails.exists(), mails, "kept: the sender chose to keep them")
        self.env["ir.config_parameter"].sudo().set_param("mail_reliability.vacuum_sent_days", "30")
        Vacuum._vacuum_run()
        self.env.invalidate_all()
        self.assertFalse(mails.exists(), "the administrator opted in to a retention")

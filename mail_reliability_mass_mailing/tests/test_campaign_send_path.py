# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A campaign mail's send path: what reaches the SMTP server is stock's, and the
bridge adds no query to a mail that was simply sent."""

import contextlib
import email.contentmanager
import email.policy
import re
from email.message import EmailMessage
from unittest.mock import patch

from odoo import sql_db, tools
from odoo.tests import tagged

from odoo.addons.mail_reliability.tests.common import SmtpSinkCase

# Above attachment_parts.MIN_BYTES: encoded once per send run.
ATTACHMENT = b"%PDF-1.4 campaign catalogue\n" + bytes(range(256)) * 48
BODY = """<div>
<p><a href="/view">View Online</a></p>
<p>Hello <t t-out="object.name"/>, see <a href="https://shop.example.com/p/1">product 1</a>
and <a href="https://shop.example.com/p/2">product 2</a>.</p>
<p><a href="/unsubscribe_from_list">Unsubscribe</a></p>
</div>"""
# The bridge's two former per-mail reads, as the ORM words them: whether the mail still
# exists after stock's post-processing (which deletes it), and the trace's whole row.
EXISTS_QUERY = re.compile(r'^SELECT "mail_mail"\."id" FROM "mail_mail" WHERE "mail_mail"\."id" IN')
TRACE_ROW_READ = '"mailing_trace"."email"'


@contextlib.contextmanager
def recorded_statements():
    """The SQL text of every statement executed in the block."""
    statements = []
    execute = sql_db.Cursor.execute

    def recording(cursor, query, params=None, log_exceptions=True):
        statements.append(query.code if hasattr(query, "code") else str(query))
        return execute(cursor, query, params, log_exceptions)

    with patch.object(sql_db.Cursor, "execute", recording):
        yield statements


@tagged("mail_reliability", "post_install", "-at_install")
class TestCampaignSendPath(SmtpSinkCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["mailing.mailing"].search([("state", "in", ("in_queue", "sending"))]).write(
            {"state": "draft"}
        )

    def queue_campaign(self, emails, **values):
        """A campaign to ``emails`` (one contact each), generated into the email queue."""
        contacts = self.env["mailing.contact"].create(
            [{"name": f"Reader {n}", "email": email} for n, email in enumerate(emails)]
        )
        mlist = self.env["mailing.list"].create(
            {"name": "Campaign readers", "contact_ids": [(6, 0, contacts.ids)]}
        )
        mailing = self.env["mailing.mailing"].create(
            {
                "subject": "Autumn collection",
                "body_html": BODY,
                "email_from": "news@example.com",
                "mailing_model_id": self.env.ref("mass_mailing.model_mailing_list").id,
                "contact_list_ids": [(6, 0, mlist.ids)],
                **values,
            }
        )
        mailing.action_launch()
        mailing._process_mass_mailing_queue()
        mails = self.env["mail.mail"].search([("mailing_id", "=", mailing.id)])
        self.assertEqual(len(mails), len(emails))
        self.assertEqual(set(mails.mapped("state")), {"outgoing"})
        return mailing, mails

    def test_campaign_mail_on_the_wire_is_stock(self):
        """Headers (List-Unsubscribe...), tracked links, tracking pixel, personal
        unsubscribe and view links and the attachment are those stock builds."""
        attachment = self.env["ir.attachment"].create(
            {"name": "catalogue.pdf", "raw": ATTACHMENT, "mimetype": "application/pdf"}
        )
        mailing, mails = self.queue_campaign(
            ["ann@example.com", "bob@example.com"], attachment_ids=[(6, 0, attachment.ids)]
        )
        trackers = self.env["link.tracker"].search([("url", "like", "https://shop.example.com/p/")])
        self.assertEqual(len(trackers), 2)
        expected = {}
        for mail in mails:
            (values,) = mail._prepare_outgoing_list()
            address = tools.email_normalize(mail.email_to)
            trace = mail.mailing_trace_ids
            expected[address] = {
                "email": values,
                "trace": trace,
                # Stock's own builders of the per-recipient parts:
                "oneclick": mailing._get_unsubscribe_oneclick_url(address, mail.res_id),
                "unsubscribe": mailing._get_unsubscribe_url(address, mail.res_id),
                "view": mailing._get_view_url(address, mail.res_id),
                "pixel": f'<img src="{mail._get_tracking_url()}"/>',
                "links": [f"{tracker.short_url}/m/{trace.id}" for tracker in trackers],
            }
        self._run_queue()

        stock = EmailMessage(policy=email.policy.SMTP)
        stock.add_attachment(ATTACHMENT, "application", "pdf", filename="catalogue.pdf")
        (reference,) = list(stock.iter_attachments())
        self.assertEqual(len(self.sink.deliveries), 2)
        for address, parts in expected.items():
            (delivery,) = self.sink.deliveries_to(address)
            message = delivery.message
            headers = parts["email"]["headers"]
            self.assertEqual(message["List-Unsubscribe"], f"<{parts['oneclick']}>")
            self.assertEqual(message["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click")
            self.assertEqual(message["Precedence"], "list")
            self.assertEqual(message["X-Auto-Response-Suppress"], "OOF")
            for name in ("List-Unsubscribe", "List-Unsubscribe-Post", "Precedence"):
                self.assertEqual(message[name], headers[name])
            html = message.get_body(("html",)).get_content().replace("\r\n", "\n")
            self.assertEqual(html.strip(), parts["email"]["body"].strip())
            for part in ("pixel", "unsubscribe", "view"):
                self.assertIn(parts[part], html)
            for link in parts["links"]:
                self.assertIn(link, html)
            (attached,) = list(message.iter_attachments())
            self.assertEqual(attached.get_filename(), "catalogue.pdf")
            self.assertEqual(attached.get_content(), ATTACHMENT)
            # The part as the standard library builds it for build_email, to the byte.
            self.assertEqual(attached.items(), reference.items())
            self.assertEqual(attached.get_payload().replace("\r\n", "\n"), reference.get_payload())
            trace = parts["trace"]
            self.assertEqual(trace.trace_status, "sent")
            self.assertEqual(trace.smtp_queue_id, delivery.queue_id)
        # Stock deletes a campaign's mails once sent (unless "Keep Archives").
        self.assertFalse(mails.exists())

    def test_failures_still_mark_traces(self):
        """Refused for good: error with the reason; refused for now: in process."""
        mailing, mails = self.queue_campaign(
            ["ok@example.com", "unknown-gone@example.com", "greylisted-later@example.com"],
            keep_archives=True,
        )
        self._run_queue("odoo.addons.mail.models.mail_mail")
        traces = {trace.email: trace for trace in mailing.mailing_trace_ids}
        self.assertEqual(traces["ok@example.com"].trace_status, "sent")
        gone = traces["unknown-gone@example.com"]
        self.assertEqual((gone.trace_status, gone.failure_type), ("error", "mail_smtp_recipient"))
        self.assertIn("5.1.1", gone.failure_reason)
        later = traces["greylisted-later@example.com"]
        self.assertEqual(
            (later.trace_status, later.failure_type), ("process", "mail_smtp_temporary")
        )
        states = {tools.email_normalize(mail.email_to): mail.state for mail in mails}
        self.assertEqual(states["ok@example.com"], "sent")
        self.assertEqual(states["unknown-gone@example.com"], "exception")
        self.assertEqual(states["greylisted-later@example.com"], "outgoing")

    def test_no_query_of_ours_for_a_sent_campaign_mail(self):
        """A campaign mail simply sent costs the bridge no query: it neither asks whether
        the mail still exists after stock deleted it nor reads the trace's row."""
        _mailing, mails = self.queue_campaign(["ann@example.com", "bob@example.com"])
        with recorded_statements() as statements:
            self._run_queue()
        self.assertEqual(len(self.sink.deliveries), 2)
        self.assertFalse(mails.exists())
        self.assertEqual([s for s in statements if EXISTS_QUERY.match(s)], [])
        self.assertEqual([s for s in statements if TRACE_ROW_READ in s], [])

    def test_keep_archives_mail_is_left_sent(self):
        """With "Keep Archives", the sent mail stays, sent, and its trace sent too."""
        mailing, mails = self.queue_campaign(["ann@example.com"], keep_archives=True)
        with recorded_statements() as statements:
            self._run_queue()
        self.assertEqual(mails.state, "sent")
        self.assertEqual(mailing.mailing_trace_ids.trace_status, "sent")
        self.assertTrue(mailing.mailing_trace_ids.smtp_queue_id)
        self.assertEqual([s for s in statements if EXISTS_QUERY.match(s)], [])

    def test_campaign_attachment_encoded_once_per_run(self):
        """The file attached to the campaign is base64-encoded once for all its emails
        (stock: once per email), and each email still carries it whole."""
        attachment = self.env["ir.attachment"].create(
            {"name": "catalogue.pdf", "raw": ATTACHMENT, "mimetype": "application/pdf"}
        )
        self.queue_campaign(
            ["ann@example.com", "bob@example.com", "cy@example.com"],
            attachment_ids=[(6, 0, attachment.ids)],
        )
        encoded = []
        encode = email.contentmanager._encode_base64

        def counting(data, max_line_length):
            encoded.append(len(data))
            return encode(data, max_line_length)

        with patch.object(email.contentmanager, "_encode_base64", counting):
            self._run_queue()
        self.assertEqual(len(self.sink.deliveries), 3)
        self.assertEqual(encoded.count(len(ATTACHMENT)), 1)
        for delivery in self.sink.deliveries:
            (attached,) = list(delivery.message.iter_attachments())
            self.assertEqual(attached.get_content(), ATTACHMENT)

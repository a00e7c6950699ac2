# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Loading a chatter full of failures costs at most 2 queries more than stock Odoo.

"Stock" is the same fetch with our only additions to the chatter payload
(``mail.notification._mr_store_retry_info`` and its batch prefetch
``mail.message._mr_prefetch_retry_info``) switched off; the figures are
logged and recorded in ``bench/chatter_queries.md``. ``bin/bench-chatter``
(``bench/chatter_queries.py``) counts the same fetch on a real stock database.
"""

import logging
from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.tests import new_test_user, tagged
from odoo.tests.common import TransactionCase

from odoo.addons.mail.tools.discuss import Store

from ..models.mail_message import MailMessage
from ..models.mail_notification import MailNotification

_logger = logging.getLogger(__name__)

MESSAGES = 200


@tagged("mail_reliability", "post_install", "-at_install")
class TestChatterQueries(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user = new_test_user(
            cls.env, login="mr_chatter_user", groups="base.group_user", name="Chatter User"
        )
        cls.record = cls.env["res.partner"].create({"name": "Busy customer"})
        cls.recipients = cls.env["res.partner"].create(
            [{"name": f"Recipient {i}", "email": f"r{i}@example.com"} for i in range(4)]
        )

    def _messages(self, count, status, failure_type, smtp=(550, "5.1.1"), with_mail=False):
        messages = self.env["mail.message"].create(
            [
                {
                    "model": "res.partner",
                    "res_id": self.record.id,
                    "body": f"<p>Message {i}</p>",
                    "message_type": "comment",
                    "author_id": self.user.partner_id.id,
                    "subtype_id": self.env.ref("mail.mt_comment").id,
                }
                for i in range(count)
            ]
        )
        mails = self.env["mail.mail"]
        if with_mail:
            mails = self.env["mail.mail"].create(
                [
                    {
                        "mail_message_id": message.id,
                        "state": "outgoing",
                        "retry_count": 1,
                        "scheduled_date": fields.Datetime.now() + timedelta(minutes=5),
                    }
                    for message in messages
                ]
            )
        self.env["mail.notification"].create(
            [
                {
                    "mail_message_id": message.id,
                    "res_partner_id": partner.id,
                    "notification_type": "email",
                    "notification_status": status,
                    "failure_type": failure_type,
                    "failure_reason": f"{smtp[0]} {smtp[1]} refused",
                    "smtp_code": smtp[0],
                    "smtp_status": smtp[1],
                    "mail_mail_id": mails[index].id if mails else False,
                }
                for index, message in enumerate(messages)
                for partner in self.recipients[:2]
            ]
        )
        return messages

    def _count_fetch(self):
        """Queries of the chatter's /mail/thread/messages for MESSAGES messages."""
        env = self.env(user=self.user)
        env.invalidate_all()
        env.registry.clear_cache()
        domain = [
            ("res_id", "=", self.record.id),
            ("model", "=", "res.partner"),
            ("message_type", "!=", "user_notification"),
        ]
        # Warm the ormcaches, so that both runs count the same thing.
        Store(env["mail.message"]._message_fetch(domain, limit=MESSAGES)["messages"])
        env.invalidate_all()
        before = self.env.cr.sql_log_count
        messages = env["mail.message"]._message_fetch(domain, limit=MESSAGES)["messages"]
        data = Store(messages, for_current_user=True).get_result()
        count = self.env.cr.sql_log_count - before
        self.assertEqual(len(messages), MESSAGES)
        return count, data

    def _compare(self, label):
        with (
            patch.object(MailNotification, "_mr_store_retry_info", lambda self, store: None),
            patch.object(MailMessage, "_mr_prefetch_retry_info", lambda self: None),
        ):
            stock, stock_data = self._count_fetch()
        ours, data = self._count_fetch()
        _logger.info(
            "chatter fetch, %s messages, %s: stock %s queries, ours %s (+%s)",
            MESSAGES,
            label,
            stock,
            ours,
            ours - stock,
        )
        self.assertLessEqual(ours, stock + 2, f"{label}: {ours} queries vs stock {stock}")
        return stock_data, data

    def test_200_failed_messages(self):
        self._messages(MESSAGES, "exception", "mail_smtp_recipient")
        _stock, data = self._compare("failed")
        statuses = {n["notification_status"] for n in data["mail.notification"]}
        self.assertEqual(statuses, {"exception"})

    def test_200_retrying_messages(self):
        self._messages(
            MESSAGES, "process", "mail_smtp_temporary", smtp=(451, "4.7.1"), with_mail=True
        )
        stock, data = self._compare("retrying")
        self.assertFalse(any("mr_attempt" in n for n in stock["mail.notification"]))
        self.assertEqual({n.get("mr_attempt") for n in data["mail.notification"]}, {2})

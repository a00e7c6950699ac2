# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Emails handed to one outgoing server in one clock minute: the count its rate is held to.

Written only by ``ir.mail_server._mr_take_send_slot`` with one upsert per email
on the daily-limit ledger's own connection (``mail.quota.usage._ledger_transaction``),
so every process and queue lane sharing the database counts on the same row
and none waits for another's mail transaction. See ``tools/pacing.py``.
"""

from datetime import timedelta

from odoo import api, fields, models

# Rows older than this are of no use to the rate (it only reads the current minute).
KEEP = timedelta(days=1)


class MailPacingWindow(models.Model):
    _name = "mail.pacing.window"
    _description = "Emails sent through an outgoing server in one minute"
    _log_access = False
    _order = "window_start desc"

    mail_server_id = fields.Many2one(
        "ir.mail_server", required=True, readonly=True, ondelete="cascade"
    )
    window_start = fields.Datetime(required=True, readonly=True, help="The minute counted (UTC)")
    used = fields.Integer(readonly=True, help="Emails handed to the server in this minute")

    _sql_constraints = [
        (
            "server_window_unique",
            "UNIQUE(mail_server_id, window_start)",
            "One row per outgoing server and minute.",
        ),
    ]

    @api.autovacuum
    def _gc_pacing_windows(self):
        self.env.cr.execute(
            "DELETE FROM mail_pacing_window WHERE window_start < %s",
            [fields.Datetime.now() - KEEP],
        )

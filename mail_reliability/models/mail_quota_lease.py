# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Daily-limit units a running sending batch holds: one row per batch, ledger row and cap.

Written only by ``mail.quota.usage`` (plain SQL on the batch's own connection);
see its module docstring for the life of a lease.
"""

from odoo import fields, models


class MailQuotaLease(models.Model):
    _name = "mail.quota.lease"
    _description = "Daily email quota lease of a running sending batch"
    _log_access = False

    usage_id = fields.Many2one(
        "mail.quota.usage", required=True, readonly=True, index=True, ondelete="cascade"
    )
    scope = fields.Char(required=True, readonly=True, help="Scope key of the ledger row")
    granted = fields.Integer(readonly=True, help="Units taken from the ledger row")
    used = fields.Integer(
        readonly=True, help="Units handed to emails (counted before sending, back if refused)"
    )
    internal_used = fields.Integer(
        "Internal Users",
        readonly=True,
        default=0,
        help="Of the units used, emails whose recipients are all internal users "
        "notified by email (counted with them)",
    )
    holder_pid = fields.Integer(
        "Holder Backend", readonly=True, help="PostgreSQL backend process of the batch"
    )

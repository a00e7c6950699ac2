# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The emails handed to one outgoing server in its last 61 seconds: what its rate is held to.

One row per server (``tools.pacing.Window``): the second last counted, by the
database's clock, and the count of each of the 61 seconds up to it in
``sends`` (an ``int4[]`` column, oldest first, created by :meth:`init`: the ORM
has no array field; only SQL reads and writes it). Written only by
``ir.mail_server._mr_take_send_slot`` with one upsert per email on the
daily-limit ledger's own connection (``mail.quota.usage._ledger_transaction``),
so every process and queue lane sharing the database counts on the same row and
none waits for another's mail transaction. See ``tools/pacing.py``.
"""

from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError

from ..tools import pacing

# Rows of servers that sent nothing for this long are dropped (the rate needs 61 seconds).
KEEP = timedelta(days=1)
# The ring of per-second counts (tools.pacing.Window.sends), always SPAN long.
SENDS_COLUMN = f"""
    ALTER TABLE mail_pacing_window
      ADD COLUMN IF NOT EXISTS sends int4[] DEFAULT array_fill(0, ARRAY[{pacing.SPAN}]);
    UPDATE mail_pacing_window
       SET sends = DEFAULT
     WHERE sends IS NULL OR cardinality(sends) != {pacing.SPAN};
    ALTER TABLE mail_pacing_window ALTER COLUMN sends SET NOT NULL
"""


class MailPacingWindow(models.Model):
    _name = "mail.pacing.window"
    _description = "Emails sent through an outgoing server in the last minute"
    _log_access = False
    _order = "last_second desc"

    mail_server_id = fields.Many2one(
        "ir.mail_server", required=True, readonly=True, ondelete="cascade"
    )
    last_second = fields.Datetime(
        readonly=True, help="The second the last email was counted in (database clock, UTC)"
    )
    used = fields.Integer(
        readonly=True,
        help="Emails handed to the server in the 61 seconds up to the last one counted",
    )

    _sql_constraints = [
        ("server_unique", "UNIQUE(mail_server_id)", "One row per outgoing server."),
    ]

    def init(self):
        if not self.env.su:  # the registry calls it; nobody calls it remotely
            raise AccessError(self.env._("Only the registry sets this table up."))
        # After _auto_init, which drops NOT NULL from columns that are not fields.
        self.env.cr.execute(SENDS_COLUMN)

    @api.autovacuum
    def _gc_pacing_windows(self):
        self.env.cr.execute(
            """DELETE FROM mail_pacing_window
                WHERE last_second IS NULL OR last_second < (now() AT TIME ZONE 'UTC') - %s""",
            [KEEP],
        )

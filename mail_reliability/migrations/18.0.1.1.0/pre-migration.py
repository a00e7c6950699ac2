# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""18.0.1.1.0: pacing counts one row per server (a rolling 61 seconds) instead of one
row per server and clock minute.

The old rows are counts of the current minute at most: they are dropped, so that the
update can add the one-row-per-server constraint the new count's upsert relies on
(without it every paced mail would stay queued). At worst a paced server is given its
full rate again in the minute of the update.
"""

import logging

from odoo.tools import sql

_logger = logging.getLogger(__name__)


def migrate(cr, version):
    if not version or not sql.column_exists(cr, "mail_pacing_window", "window_start"):
        return
    cr.execute("DELETE FROM mail_pacing_window")
    _logger.info("mail_reliability: %s per-minute pacing rows dropped (new layout)", cr.rowcount)
    sql.drop_constraint(cr, "mail_pacing_window", "mail_pacing_window_server_window_unique")
    cr.execute("ALTER TABLE mail_pacing_window DROP COLUMN window_start")

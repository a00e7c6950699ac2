# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
import importlib.util
import os

from odoo.modules.module import get_module_path
from odoo.tests import TransactionCase, tagged
from odoo.tools import sql


def _migration(version, name):
    path = os.path.join(get_module_path("mail_reliability"), "migrations", version, f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"mr_migration_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@tagged("mail_reliability", "post_install", "-at_install")
class TestMigration18011(TransactionCase):
    """18.0.1.1.0: session 6's pacing table (one row per server and clock minute) is
    emptied and its minute column dropped, so the update can add one row per server."""

    def test_old_pacing_rows_dropped(self):
        cr = self.env.cr
        server = self.env["ir.mail_server"].create({"name": "old pace", "smtp_host": "localhost"})
        # The old layout, inside this test's transaction (rolled back with it).
        cr.execute(
            "ALTER TABLE mail_pacing_window DROP CONSTRAINT mail_pacing_window_server_unique"
        )
        cr.execute("ALTER TABLE mail_pacing_window ADD COLUMN window_start timestamp")
        cr.execute(
            """INSERT INTO mail_pacing_window (mail_server_id, window_start, used)
               VALUES (%(s)s, now() - interval '1 minute', 30), (%(s)s, now(), 5)""",
            {"s": server.id},
        )
        _migration("18.0.1.1.0", "pre-migration").migrate(cr, "18.0.1.0.0")
        cr.execute("SELECT count(*) FROM mail_pacing_window")
        self.assertEqual(cr.fetchone()[0], 0)
        self.assertFalse(sql.column_exists(cr, "mail_pacing_window", "window_start"))
        # one row per server can be enforced again
        cr.execute(
            "ALTER TABLE mail_pacing_window ADD CONSTRAINT mail_pacing_window_server_unique "
            "UNIQUE (mail_server_id)"
        )

    def test_new_layout_and_fresh_install_untouched(self):
        cr = self.env.cr
        server = self.env["ir.mail_server"].create({"name": "new pace", "smtp_host": "localhost"})
        cr.execute(
            "INSERT INTO mail_pacing_window (mail_server_id, used) VALUES (%s, 3)", [server.id]
        )
        migration = _migration("18.0.1.1.0", "pre-migration")
        migration.migrate(cr, "18.0.1.0.0")  # already the new layout: nothing to do
        migration.migrate(cr, None)  # a fresh install
        cr.execute("SELECT used FROM mail_pacing_window WHERE mail_server_id = %s", [server.id])
        self.assertEqual(cr.fetchone()[0], 3)

# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Retention clean-up of mail.mail: exact cut-offs, messages kept, bounded batches."""

from unittest.mock import patch

from odoo.exceptions import ValidationError
from odoo.tests import TransactionCase, tagged
from odoo.tools import mute_logger

from ..models.mail_reliability_vacuum import VACUUM_BATCH_SIZE
from .vacuum_data import insert_old_mails

VACUUM_LOGGER = "odoo.addons.mail_reliability.models.mail_reliability_vacuum"


@tagged("mail_reliability", "post_install", "-at_install")
class TestMailVacuum(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.vacuum = cls.env["mail.reliability.vacuum"]
        cls.record = cls.env["res.partner"].create({"name": "Thread with old mail"})
        # Start from a queue holding nothing old, whatever the database had.
        cls.env["mail.mail"].search([]).unlink()

    def _mails(self, count, state, age_days, **kw):
        kw.setdefault("model", "res.partner")
        kw.setdefault("res_id", self.record.id)
        ids = insert_old_mails(self.env.cr, count, state, age_days, **kw)
        return self.env["mail.mail"].browse(ids)

    def _vacuum_all(self, batch_size=VACUUM_BATCH_SIZE):
        calls = []
        while True:
            deleted, remaining = self.vacuum._vacuum_run(batch_size=batch_size)
            calls.append((deleted, remaining))
            if not remaining:
                return calls
            self.assertLessEqual(len(calls), 1000, "the vacuum does not converge")

    def _alive(self, mails):
        self.env.invalidate_all()
        return mails.exists()

    def test_sent_mail_kept_on_purpose_is_kept_by_default(self):
        """auto_delete off ("Auto Delete" unticked, "Keep Archives"): the sender chose to
        keep it, so no retention applies until the administrator sets one."""
        params = self.env["ir.config_parameter"].sudo()
        self.assertEqual(params.get_param("mail_reliability.vacuum_sent_days"), "0")
        self.assertEqual(
            self.env["res.config.settings"].create({}).mail_reliability_vacuum_sent_days, 0
        )
        kept = self._mails(3, "sent", 4000)
        old_cancel = self._mails(1, "cancel", 31)
        old_exception = self._mails(1, "exception", 91)
        self._vacuum_all()
        self.assertEqual(self._alive(kept), kept)
        self.assertFalse(self._alive(old_cancel + old_exception), "the other rules still apply")
        # Without the parameter at all (deleted by hand), the code's default also keeps it.
        params.search([("key", "=", "mail_reliability.vacuum_sent_days")]).unlink()
        self._vacuum_all()
        self.assertEqual(self._alive(kept), kept)
        # Opt-in: a retention set by the administrator applies.
        params.set_param("mail_reliability.vacuum_sent_days", "30")
        self._vacuum_all()
        self.assertFalse(self._alive(kept))

    def test_each_retention_deletes_exactly_the_rows_past_it(self):
        self.env["ir.config_parameter"].sudo().set_param("mail_reliability.vacuum_sent_days", "30")
        old_sent = self._mails(3, "sent", 31)
        young_sent = self._mails(2, "sent", 29)
        old_sent_auto = self._mails(2, "sent", 400, auto_delete=True)
        old_cancel = self._mails(3, "cancel", 31)
        young_cancel = self._mails(2, "cancel", 29)
        old_exception = self._mails(3, "exception", 91)
        young_exception = self._mails(2, "exception", 89)
        old_outgoing = self._mails(2, "outgoing", 400)
        old_received = self._mails(1, "received", 400)
        messages = (
            old_sent + old_cancel + old_exception + young_sent + young_cancel + young_exception
        ).mail_message_id

        calls = self._vacuum_all()

        self.assertEqual(sum(deleted for deleted, _left in calls), 9)
        self.assertFalse(self._alive(old_sent + old_cancel + old_exception))
        kept = young_sent + young_cancel + young_exception + old_outgoing + old_received
        self.assertEqual(self._alive(kept), kept)
        # auto_delete=True sent mail is stock's business (deleted when sent), not a rule here.
        self.assertEqual(self._alive(old_sent_auto), old_sent_auto)
        # The chatter keeps every message, even of mails not created as notifications.
        self.assertEqual(messages.exists(), messages)
        self.assertEqual(
            set(messages.mapped("res_id")), {self.record.id}, "messages stay on their document"
        )

    def test_parameters_change_and_disable_rules(self):
        params = self.env["ir.config_parameter"].sudo()
        params.set_param("mail_reliability.vacuum_sent_days", "10")
        params.set_param("mail_reliability.vacuum_cancel_days", "0")
        params.set_param("mail_reliability.vacuum_exception_days", "-1")
        sent_11 = self._mails(1, "sent", 11)
        sent_9 = self._mails(1, "sent", 9)
        cancel_old = self._mails(1, "cancel", 1000)
        exception_old = self._mails(1, "exception", 1000)
        self._vacuum_all()
        self.assertFalse(self._alive(sent_11))
        self.assertEqual(
            self._alive(sent_9 + cancel_old + exception_old), sent_9 + cancel_old + exception_old
        )

    def test_missing_parameter_falls_back_to_default(self):
        self.env["ir.config_parameter"].sudo().search(
            [("key", "=", "mail_reliability.vacuum_exception_days")]
        ).unlink()
        failed_91 = self._mails(1, "exception", 91)
        failed_89 = self._mails(1, "exception", 89)
        self._vacuum_all()
        self.assertFalse(self._alive(failed_91))
        self.assertTrue(self._alive(failed_89))

    def test_non_integer_parameter_is_refused_clearly(self):
        params = self.env["ir.config_parameter"].sudo()
        for bad in ("thirty", "1.5", "30 days", ""):
            with self.subTest(bad=bad), self.assertRaises(ValidationError) as caught:
                params.set_param("mail_reliability.vacuum_sent_days", bad)
            self.assertIn("mail_reliability.vacuum_sent_days", str(caught.exception))
            self.assertIn("whole number of days", str(caught.exception))

    def test_nonsense_stored_value_skips_only_that_rule(self):
        # A value that bypassed the constraint (raw SQL) must not stop the other rules.
        self.env.cr.execute(
            "UPDATE ir_config_parameter SET value = 'soon' WHERE key = %s",
            ["mail_reliability.vacuum_sent_days"],
        )
        self.env.registry.clear_cache()
        sent_old = self._mails(1, "sent", 1000)
        cancel_old = self._mails(1, "cancel", 1000)
        with mute_logger(VACUUM_LOGGER):
            self._vacuum_all()
        self.assertTrue(self._alive(sent_old))
        self.assertFalse(self._alive(cancel_old))

    def test_ten_thousand_rows_in_bounded_batches(self):
        old = self._mails(10000, "exception", 200)
        messages = old.mail_message_id
        young = self._mails(5, "exception", 10)
        cron = self.env.ref("mail_reliability.ir_cron_mail_reliability_vacuum")
        calls = []
        while True:
            # As the cron runner does: one progress record, one call, one transaction.
            cron_ctx, progress = cron._add_progress()
            cron_ctx.env["mail.reliability.vacuum"].with_context(
                ir_cron_progress_id=progress.id
            )._cron_vacuum()
            calls.append((progress.done, progress.remaining))
            if not progress.remaining:
                break
            self.assertLess(len(calls), 20)
        self.assertEqual(len(calls), 10)
        self.assertTrue(all(done == 1000 for done, _left in calls), calls)
        self.assertEqual([left for _done, left in calls], list(range(9000, -1, -1000)))
        self.assertFalse(self._alive(old))
        self.assertEqual(self._alive(young), young)
        self.assertEqual(len(messages.exists()), 10000)

    def test_autovacuum_does_one_batch_and_wakes_the_cron(self):
        cron = self.env.ref("mail_reliability.ir_cron_mail_reliability_vacuum")
        triggers = self.env["ir.cron.trigger"]

        def cron_triggers():
            return triggers.search([("cron_id", "=", cron.id)])

        before = cron_triggers()
        self._mails(VACUUM_BATCH_SIZE + 5, "cancel", 100)
        self.assertEqual(self.vacuum._gc_mail_retention(), VACUUM_BATCH_SIZE)
        self.assertEqual(len(cron_triggers() - before), 1, "more is left: the cron is woken")
        before = cron_triggers()
        self.assertEqual(self.vacuum._gc_mail_retention(), 5)
        self.assertFalse(cron_triggers() - before, "nothing left: no trigger")

    def test_rules_hook_skips_uninstalled_models_and_accepts_new_rules(self):
        rules = self.vacuum._vacuum_rules()
        keys = {rule["key"] for rule in rules}
        self.assertTrue({"mail_sent", "mail_cancel", "mail_exception"} <= keys)
        self.assertTrue({"quota_usage", "incoming_rejection"} <= keys)
        ghost = {
            "key": "ghost",
            "model": "mail.not.installed",
            "date_field": "create_date",
            "param": "mail_reliability.vacuum_ghost_days",
            "default_days": 1,
            "domain": [],
        }
        self.assertIsNone(self.vacuum._vacuum_rule_domain(ghost))
        # A rule added through the hook runs with the others (here: old link previews).
        preview_model = self.env["mail.link.preview"]
        preview = preview_model.create({"source_url": "https://example.com/old"})
        self.env.cr.execute(
            "UPDATE mail_link_preview SET create_date = now() - interval '20 days' WHERE id = %s",
            [preview.id],
        )
        extra = dict(ghost, key="previews", model="mail.link.preview", default_days=7)
        vacuum_cls = type(self.vacuum)
        with patch.object(vacuum_cls, "_vacuum_rules", lambda s: [ghost, extra], create=False):
            deleted, remaining = self.vacuum._vacuum_run()
        self.assertEqual((deleted, remaining), (1, 0))
        self.env.invalidate_all()
        self.assertFalse(preview.exists())

    def test_retention_cron_is_data_and_guarded(self):
        cron = self.env.ref("mail_reliability.ir_cron_mail_reliability_vacuum")
        self.assertEqual((cron.interval_number, cron.interval_type), (1, "days"))
        self.assertTrue(cron.active)
        data = self.env["ir.model.data"].search(
            [("module", "=", "mail_reliability"), ("name", "=", "ir_cron_mail_reliability_vacuum")]
        )
        self.assertTrue(data.noupdate)
        with self.assertRaises(ValidationError):
            cron.write({"interval_number": 1, "interval_type": "minutes"})

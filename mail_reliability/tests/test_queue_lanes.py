# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Queue lanes: N cron jobs send the queue, each claiming disjoint mails in FIFO order.

``TestQueueLanesProcesses`` commits (two Odoo processes must see each other's
rows); it removes in ``finally`` exactly what it created.
"""

import json
from datetime import datetime, timedelta
from unittest.mock import patch

from odoo import api
from odoo.exceptions import ValidationError
from odoo.modules.registry import Registry
from odoo.tests import BaseCase, TransactionCase, tagged
from odoo.tests.common import get_db_name

from ..models import mail_mail as mail_mail_module
from ..tools import queue_lanes
from ..tools.constants import QUEUE_CRON_XMLID
from .common import SmtpSinkCase, run_odoo_workers
from .peers import SmtpSink

LANES = queue_lanes.LANES_PARAM
MailMail = mail_mail_module.MailMail


@tagged("mail_reliability", "post_install", "-at_install")
class TestQueueLanesParsing(BaseCase):
    def test_parse_lanes(self):
        for value, lanes in ((None, 1), (False, 1), ("", 1), ("1", 1), (" 4 ", 4), (16, 16)):
            self.assertEqual(queue_lanes.parse_lanes(value), lanes, value)
        for value in ("0", "-1", "17", "2.5", "two", True, 0, 2.5):
            with self.assertRaises(ValueError, msg=value):
                queue_lanes.parse_lanes(value)

    def test_parse_claim_seconds(self):
        self.assertEqual(queue_lanes.parse_claim_seconds(""), queue_lanes.DEFAULT_CLAIM_SECONDS)
        self.assertEqual(queue_lanes.parse_claim_seconds("30"), 30)
        for value in ("5", "-30", "1m", "9.5"):
            with self.assertRaises(ValueError, msg=value):
                queue_lanes.parse_claim_seconds(value)

    def test_claim_sizes(self):
        self.assertEqual(list(queue_lanes.claim_sizes(250, 100)), [100, 100, 50])
        self.assertEqual(list(queue_lanes.claim_sizes(3, 100)), [3])
        unbounded = queue_lanes.claim_sizes(0, 100)
        self.assertEqual([next(unbounded) for _n in range(3)], [100, 100, 100])

    def test_lane_xmlids(self):
        xmlid = queue_lanes.lane_xmlid(3)
        self.assertEqual(queue_lanes.lane_of_xmlid_name(xmlid.split(".", 1)[1]), 3)
        self.assertIsNone(queue_lanes.lane_of_xmlid_name(queue_lanes.LANE_XMLID_PREFIX + "x"))
        with self.assertRaises(ValueError):
            queue_lanes.lane_xmlid(1)


@tagged("mail_reliability", "post_install", "-at_install")
class TestQueueLaneCrons(TransactionCase):
    def _lane_data(self):
        return self.env["ir.model.data"].search(
            [
                ("module", "=", "mail_reliability"),
                ("name", "=like", "ir_cron_mail_reliability_queue_lane_%"),
            ]
        )

    def test_changing_lanes_creates_and_removes_crons(self):
        params = self.env["ir.config_parameter"].sudo()
        queue = self.env.ref(QUEUE_CRON_XMLID)
        queue.write({"interval_number": 10, "interval_type": "minutes"})
        self.assertEqual(self.env["ir.cron"]._mr_queue_lane_crons(), {1: queue})

        params.set_param(LANES, "3")
        lanes = self.env["ir.cron"]._mr_queue_lane_crons()
        self.assertEqual(sorted(lanes), [1, 2, 3])
        for lane in (2, 3):
            cron = lanes[lane]
            self.assertEqual(cron, self.env.ref(queue_lanes.lane_xmlid(lane)))
            self.assertEqual(cron.code, "model._cron_process_queue_lane()")
            self.assertEqual(cron.model_id.model, "mail.mail")
            self.assertEqual((cron.interval_number, cron.interval_type), (10, "minutes"))
            self.assertEqual(cron.user_id, queue.user_id)
            self.assertTrue(cron.active)
        data = self._lane_data()
        # the cron and its server action, each with a noupdate xml id of this addon:
        # an update keeps them, uninstalling the addon removes them
        self.assertEqual(len(data), 4)
        self.assertTrue(all(data.mapped("noupdate")))
        self.assertEqual(set(data.mapped("model")), {"ir.cron", "ir.actions.server"})

        lane3 = lanes[3]
        action3 = lane3.ir_actions_server_id
        self.env["ir.cron"]._mr_trigger_cron(lane3)
        trigger3 = self.env["ir.cron.trigger"].search([("cron_id", "=", lane3.id)])
        self.assertTrue(trigger3, "a lane woken by another one")
        params.set_param(LANES, "2")
        self.assertEqual(sorted(self.env["ir.cron"]._mr_queue_lane_crons()), [1, 2])
        self.assertFalse(lane3.exists())
        self.assertFalse(action3.exists())
        self.assertFalse(trigger3.exists(), "no trigger left without its cron")
        self.assertEqual(len(self._lane_data()), 2)

        params.set_param(LANES, False)  # unset: one lane
        self.assertEqual(self.env["ir.cron"]._mr_queue_lane_crons(), {1: queue})
        self.assertFalse(self._lane_data())
        self.assertEqual(queue.code, "model.process_email_queue(batch_size=1000)", "stock's job")

    def test_bad_values_refused_and_settings(self):
        params = self.env["ir.config_parameter"].sudo()
        for value in ("0", "17", "two"):
            with self.assertRaises(ValidationError), self.cr.savepoint():
                params.set_param(LANES, value)
        settings = self.env["res.config.settings"].create({"mr_queue_lanes": 2})
        settings.execute()
        self.assertEqual(params.get_param(LANES), "2")
        self.assertEqual(sorted(self.env["ir.cron"]._mr_queue_lane_crons()), [1, 2])
        # the queue interval set in Settings applies to every lane
        settings = self.env["res.config.settings"].create({"mail_queue_interval_minutes": 20})
        settings.execute()
        lane2 = self.env.ref(queue_lanes.lane_xmlid(2))
        self.assertEqual((lane2.interval_number, lane2.interval_type), (20, "minutes"))
        self.assertEqual(self.env["res.config.settings"].create({}).mr_queue_lanes, 2)


@tagged("mail_reliability", "post_install", "-at_install")
class TestQueueLaneClaims(SmtpSinkCase):
    """One cursor: what a claim takes, in which order, and what a lane run sends."""

    def setUp(self):
        super().setUp()
        # This test's mails alone in the queue (rolled back with the test).
        self.env.cr.execute("UPDATE mail_mail SET state = 'cancel' WHERE state = 'outgoing'")
        self.env.invalidate_all()
        now = datetime.now().replace(microsecond=0)
        # Queue order is the schedule (or creation), not the id: build it backwards.
        self.mails = self.env["mail.mail"]
        for n in range(12):
            self.mails |= self.create_outgoing_mail(
                f"lane{n}@example.com",
                subject=f"lane {n}",
                auto_delete=False,
                scheduled_date=now - timedelta(minutes=n),
            )
        self.fifo = list(reversed(self.mails.ids))

    def _claims(self):
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT id, mr_queue_claim_until FROM mail_mail WHERE id = ANY(%s)", [self.mails.ids]
        )
        return dict(self.env.cr.fetchall())

    def test_claims_are_disjoint_heads_of_the_queue(self):
        Mail = self.env["mail.mail"]
        first, until_a = Mail._mr_claim_queue_head(5, 300)
        second, until_b = Mail._mr_claim_queue_head(5, 300)
        self.assertEqual(first, sorted(self.fifo[:5]), "the head of the queue, oldest first")
        self.assertEqual(second, sorted(self.fifo[5:10]), "the next rows, none twice")
        claims = self._claims()
        self.assertTrue(all(claims[i] == until_a for i in first))
        self.assertGreater(until_a, datetime.now() - timedelta(minutes=10))
        # released: the rows are free again, the first in the queue at the next claim
        Mail._mr_release_queue_claim(first, until_a)
        self.assertTrue(all(self._claims()[i] is None for i in first))
        again, _until = Mail._mr_claim_queue_head(20, 300)
        self.assertEqual(again, sorted(self.fifo[:5] + self.fifo[10:]))
        self.assertTrue(until_b)

    def test_stale_claim_is_taken_over(self):
        Mail = self.env["mail.mail"]
        killed, until = Mail._mr_claim_queue_head(4, 300)
        # the lane died: its claim expired
        self.env.cr.execute(
            "UPDATE mail_mail SET mr_queue_claim_until = now() AT TIME ZONE 'UTC' - interval '1 s'"
            " WHERE id = ANY(%s)",
            [killed],
        )
        taken, new_until = Mail._mr_claim_queue_head(4, 300)
        self.assertEqual(taken, killed, "the expired claim is taken over first, in queue order")
        # the dead lane's token no longer matches: it cannot release the new claim
        Mail._mr_release_queue_claim(killed, until)
        self.assertTrue(all(self._claims()[i] == new_until for i in taken))

    def test_lane_run_sends_in_claims_then_wakes_itself(self):
        self.env["ir.config_parameter"].sudo().set_param(LANES, "2")
        Trigger = self.env["ir.cron.trigger"]
        lane2 = self.env.ref(queue_lanes.lane_xmlid(2))
        queue = self.env.ref(QUEUE_CRON_XMLID)
        before = Trigger.search([("cron_id", "in", (lane2 | queue).ids)])
        spy = []
        claim = MailMail._mr_claim_queue_head

        def claim_spy(model, limit, *args, **kwargs):
            ids, until = claim(model, limit, *args, **kwargs)
            spy.append(ids)
            return ids, until

        with (
            self.real_smtp(),
            patch.object(queue_lanes, "CLAIM_SIZE", 4),
            patch.object(MailMail, "_mr_claim_queue_head", claim_spy),
        ):
            self.env["mail.mail"].process_email_queue(batch_size=8)
            self.assertEqual(spy, [sorted(self.fifo[:4]), sorted(self.fifo[4:8])])
            sent = [d.rcpt_tos[0] for d in self.sink.deliveries]
            by_id = {mail.id: mail.email_to for mail in self.mails}
            self.assertEqual(sent, [by_id[i] for i in spy[0] + spy[1]], "each claim in id order")
            sent_ids = self.mails.filtered(lambda m: m.state == "sent").ids
            self.assertEqual(sorted(sent_ids), sorted(spy[0] + spy[1]))
            new = Trigger.search([("cron_id", "in", (lane2 | queue).ids)]) - before
            # a full claim woke lane 2; the batch was used up with mail left: lane 1 again
            self.assertEqual(sorted(new.cron_id.ids), sorted((lane2 | queue).ids))
            self.assertTrue(all(v is None for v in self._claims().values()), "claims released")
            spy.clear()
            self.env["mail.mail"].process_email_queue(batch_size=8)
        self.assertEqual(spy, [sorted(self.fifo[8:12]), []])
        self.assertEqual(set(self.mails.mapped("state")), {"sent"})
        self.assertEqual(len(self.sink.deliveries), 12, "each mail once")

    def test_one_lane_is_stock_path(self):
        self.assertEqual(self.env["mail.mail"]._mr_queue_lanes(), 1)
        with (
            self.real_smtp(),
            patch.object(MailMail, "_mr_claim_queue_head", side_effect=AssertionError("claim")),
        ):
            self.env["mail.mail"].process_email_queue()
        self.assertEqual(set(self.mails.mapped("state")), {"sent"})
        self.assertTrue(all(v is None for v in self._claims().values()))
        delivered = [d.rcpt_tos[0] for d in self.sink.deliveries]
        self.assertEqual(len(delivered), 12)


class _SessionHandler(SmtpSink.handler_class):
    async def handle_DATA(self, server, session, envelope):
        reply = await super().handle_DATA(server, session, envelope)
        # the session itself, not id(session): a finished session's id can be reused
        self.sink.sessions.append((session, envelope.rcpt_tos[0]))
        return reply


class _SessionSink(SmtpSink):
    """The sink, noting the SMTP session of each delivery (one session: one claim)."""

    handler_class = _SessionHandler

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sessions = []


# A lane, as its cron job would run it: until this test's mails are sent; prints its claims.
LANE_WORKER = """
from odoo.addons.mail_reliability.models.mail_mail import MailMail
from odoo.addons.mail_reliability.tools import queue_lanes
queue_lanes.CLAIM_SIZE = 5
claims = []
claim = MailMail._mr_claim_queue_head
def spy(model, limit, *args, **kwargs):
    result = claim(model, limit, *args, **kwargs)
    claims.append(result[0])
    return result
MailMail._mr_claim_queue_head = spy
while time.time() < deadline:
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        env["mail.mail"].process_email_queue(batch_size=len(ids))
        left = env["mail.mail"].search_count([("id", "in", ids), ("state", "=", "outgoing")])
    if not left:
        break
    time.sleep(0.05)
print(json.dumps([c for c in claims if c]), flush=True)
"""


@tagged("mail_reliability", "post_install", "-at_install")
class TestQueueLanesProcesses(BaseCase):
    """Two lanes in two real Odoo processes, each committing per mail as a cron worker
    does: disjoint claims, each a contiguous run of the queue, every mail sent once."""

    def test_two_lanes_in_two_processes(self):
        registry = Registry(get_db_name())
        total = 40
        past = datetime(2001, 1, 1)  # before anything else due: this test's mails lead
        with _SessionSink() as sink:
            with registry.cursor() as cr:
                env = api.Environment(cr, api.SUPERUSER_ID, {})
                previous = env["ir.config_parameter"].get_param(LANES)
                env.cr.execute(
                    "SELECT count(*) FROM mail_mail WHERE state = 'outgoing'"
                    " AND (scheduled_date IS NULL OR scheduled_date <= now() AT TIME ZONE 'UTC')"
                )
                if env.cr.fetchone()[0]:
                    self.skipTest("other mail is due in this database: the lanes would send it")
                server = env["ir.mail_server"].create(
                    {
                        "name": "lanes sink",
                        "smtp_host": sink.host,
                        "smtp_port": sink.port,
                        "smtp_encryption": "none",
                        "sequence": 0,
                        "use_database_quota": False,
                    }
                )
                mails = env["mail.mail"].create(
                    [
                        {
                            "subject": f"lanes {n}",
                            "body_html": "<p>lanes</p>",
                            "email_from": "s@example.com",
                            "email_to": f"lanes{n}@example.com",
                            "mail_server_id": server.id,
                            "auto_delete": False,
                            "scheduled_date": past + timedelta(seconds=total - n),
                        }
                        for n in range(total)
                    ]
                )
                ids, server_id = mails.ids, server.id
                fifo = list(reversed(ids))
                env.cr.execute("SELECT COALESCE(MAX(id), 0) FROM ir_cron_trigger")
                last_trigger = env.cr.fetchone()[0]
                env["ir.config_parameter"].set_param(LANES, "2")
            try:
                outputs = run_odoo_workers(self, LANE_WORKER, ids)  # both lanes start at once
                claims = [json.loads(out.strip().splitlines()[-1]) for out in outputs]
                self.assertTrue(all(claims), f"both lanes claimed mail: {claims}")
                taken = claims[0] + claims[1]
                flat = [i for batch in taken for i in batch]
                self.assertEqual(sorted(flat), sorted(ids), "every mail claimed")
                self.assertEqual(len(flat), len(set(flat)), "no mail in two claims")
                position = {mail_id: pos for pos, mail_id in enumerate(fifo)}
                for batch in taken:  # the head of the queue at the time: a contiguous run
                    where = sorted(position[i] for i in batch)
                    self.assertEqual(where, list(range(where[0], where[0] + len(batch))), batch)
                rcpts = [d.rcpt_tos[0] for d in sink.deliveries]
                self.assertEqual(len(rcpts), total)
                self.assertEqual(len(set(rcpts)), total, "no mail delivered twice")
                # each SMTP session is one claim, delivered in id order
                by_rcpt = {f"lanes{n}@example.com": mail_id for n, mail_id in enumerate(ids)}
                per_session = {}
                for session, rcpt in sink.sessions:
                    per_session.setdefault(session, []).append(by_rcpt[rcpt])
                self.assertEqual(
                    sorted(sorted(batch) for batch in per_session.values()), sorted(taken)
                )
                for batch in per_session.values():
                    self.assertEqual(batch, sorted(batch))
            finally:
                with registry.cursor() as cr:
                    env = api.Environment(cr, api.SUPERUSER_ID, {})
                    env["ir.config_parameter"].set_param(LANES, previous)
                    # the lanes woke each other: this test's triggers go too
                    queue = env.ref(QUEUE_CRON_XMLID)
                    env.cr.execute(
                        "DELETE FROM ir_cron_trigger WHERE cron_id = %s AND id > %s",
                        [queue.id, last_trigger],
                    )
                    env.cr.execute(
                        "DELETE FROM mail_delivery_stats WHERE mail_server_id = %s", [server_id]
                    )
                    env["mail.mail"].browse(ids).unlink()
                    env["ir.mail_server"].browse(server_id).unlink()

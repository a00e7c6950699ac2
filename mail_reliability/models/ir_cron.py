# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Mail crons may not run more often than every 5 minutes (Odoo recommends 15).

A shorter interval does not send mail faster: runs overlap, time out and
leave mail half processed. The guard holds for the form, imports and write().

``ir.cron._mr_trigger(xmlid, at)`` is the one way both addons trigger a cron.

Queue lanes (``mail_reliability.queue_lanes``): ``_mr_sync_queue_lanes`` creates
and removes the lane cron jobs 2..N next to stock's Email Queue Manager (lane 1).
"""

import logging
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..tools import queue_lanes
from ..tools.constants import QUEUE_CRON_XMLID

_logger = logging.getLogger(__name__)

MIN_INTERVAL_MINUTES = 5
RECOMMENDED_INTERVAL_MINUTES = 15
MINUTES_PER_UNIT = {
    "minutes": 1,
    "hours": 60,
    "days": 60 * 24,
    "weeks": 60 * 24 * 7,
    "months": 60 * 24 * 28,
}
GUARDED_MODULES = ("mail_reliability", "mail_reliability_mass_mailing")
GUARDED_XMLIDS = (QUEUE_CRON_XMLID,)


class IrCron(models.Model):
    _inherit = "ir.cron"

    def _mr_is_guarded(self):
        self.ensure_one()
        xmlids = self.get_external_id().get(self.id, "")
        module = xmlids.split(".", 1)[0]
        return xmlids in GUARDED_XMLIDS or module in GUARDED_MODULES

    @api.constrains("interval_number", "interval_type")
    def _check_mail_interval(self):
        for cron in self:
            minutes = cron.interval_number * MINUTES_PER_UNIT.get(cron.interval_type, 1)
            if minutes < MIN_INTERVAL_MINUTES and cron._mr_is_guarded():
                raise ValidationError(
                    _(
                        "The scheduled action '%(name)s' cannot run every %(minutes)s minute(s): "
                        "the lowest interval for a mail cron is %(min)s minutes, and "
                        "%(recommended)s minutes is recommended. Shorter intervals do not send "
                        "mail faster; runs overlap and may time out.",
                        name=cron.name,
                        minutes=minutes,
                        min=MIN_INTERVAL_MINUTES,
                        recommended=RECOMMENDED_INTERVAL_MINUTES,
                    )
                )

    @api.model
    def _mr_trigger(self, xmlid, at=None, once=True):
        """``_trigger(at)`` on the cron ``xmlid`` (now if ``at`` is None), unless a
        pending trigger already covers ``at`` (``once``; ``once=False`` skips that
        lookup where a duplicate trigger is harmless); nothing if the cron is gone.

        Holding back or deferring a batch would otherwise add one identical trigger
        row per mail. A trigger in the minute after ``at`` covers it (Odoo runs
        triggers to the minute); an earlier one does not: the mail is not due yet.
        """
        cron = self.env.ref(xmlid, raise_if_not_found=False)
        if cron:
            self._mr_trigger_cron(cron, at, once)

    @api.model
    def _mr_trigger_cron(self, cron, at=None, once=True):
        """:meth:`_mr_trigger` for a cron record (nothing if it is gone)."""
        if not cron.exists():
            return
        at = at or fields.Datetime.now()
        if not once:
            cron.sudo()._trigger(at)
            return
        self.env["ir.cron.trigger"].flush_model()
        self.env.cr.execute(
            """SELECT 1 FROM ir_cron_trigger
                WHERE cron_id = %s AND call_at >= %s AND call_at < %s LIMIT 1""",
            [cron.id, at, at + timedelta(minutes=1)],
        )
        if not self.env.cr.fetchone():
            cron.sudo()._trigger(at)

    # ------------------------------------------------------------------
    # Queue lanes (mail_reliability.queue_lanes, tools/queue_lanes.py)
    # ------------------------------------------------------------------
    @api.model
    def _mr_queue_lane_crons(self):
        """``{lane: ir.cron}`` of the queue lanes that exist: 1 is stock's Email Queue
        Manager, 2..N the cron jobs :meth:`_mr_sync_queue_lanes` created."""
        lanes = {}
        queue = self.env.ref(QUEUE_CRON_XMLID, raise_if_not_found=False)
        if queue:
            lanes[1] = queue.sudo()
        rows = (
            self.env["ir.model.data"]
            .sudo()
            .search(
                [
                    ("module", "=", "mail_reliability"),
                    ("model", "=", "ir.cron"),
                    ("name", "=like", queue_lanes.LANE_XMLID_PREFIX + "%"),
                ]
            )
        )
        for row in rows:
            lane = queue_lanes.lane_of_xmlid_name(row.name)
            cron = self.sudo().with_context(active_test=False).browse(row.res_id).exists()
            if lane and cron:
                lanes[lane] = cron
        return lanes

    @api.model
    def _mr_sync_queue_lanes(self):
        """Make lanes 2..N exist, N being ``mail_reliability.queue_lanes``.

        A lane is an ``ir.cron`` running ``mail.mail._cron_process_queue_lane()``
        with the Email Queue Manager's interval, user, priority and active flag,
        created with the external id ``mail_reliability.ir_cron_mail_reliability_
        queue_lane_<n>`` (``noupdate``: an update of the addon keeps it; uninstalling
        it removes it). Lanes above N are removed; Odoo refuses to remove one while
        it runs ("try again in a few minutes").
        """
        wanted = self.env["mail.mail"]._mr_queue_lanes()
        lanes = self._mr_queue_lane_crons()
        queue = lanes.pop(1, None)
        extra = self.browse([cron.id for lane, cron in lanes.items() if lane > wanted]).sudo()
        if extra:
            actions = extra.ir_actions_server_id
            # A trigger's cron is set null when its cron goes: remove them with the lane.
            self.env["ir.cron.trigger"].sudo().search([("cron_id", "in", extra.ids)]).unlink()
            extra.unlink()
            actions.unlink()
        if wanted > 1 and not queue:
            _logger.warning(
                "%s = %s: no queue lane created, the Email Queue Manager (%s) is missing",
                queue_lanes.LANES_PARAM,
                wanted,
                QUEUE_CRON_XMLID,
            )
            return
        if not queue:
            return
        shared = {
            "interval_number": queue.interval_number,
            "interval_type": queue.interval_type,
            "user_id": queue.user_id.id,
            "priority": queue.priority,
            "active": queue.active,
        }
        for lane, cron in lanes.items():
            if lane <= wanted:
                current = {**cron.read(list(shared), load=None)[0], "user_id": cron.user_id.id}
                changed = {k: v for k, v in shared.items() if current[k] != v}
                if changed:
                    cron.write(changed)
        missing = [lane for lane in range(2, wanted + 1) if lane not in lanes]
        if missing:
            model = self.env["ir.model"]._get_id("mail.mail")
            self.sudo()._load_records(
                [
                    {
                        "xml_id": queue_lanes.lane_xmlid(lane),
                        "noupdate": True,
                        "values": {
                            "name": self.env._(
                                "Mail: Email Queue Manager (lane %(lane)s)", lane=lane
                            ),
                            "model_id": model,
                            "state": "code",
                            "code": "model._cron_process_queue_lane()",
                            **shared,
                        },
                    }
                    for lane in missing
                ]
            )

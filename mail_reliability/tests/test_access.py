# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Access: a portal user and an internal (non-admin) user against everything we add.

Nothing here is a hand-written list of what exists: models come from the
registry (``ir.model`` rows our two addons created) and from both
``security/ir.model.access.csv`` files, routes from the HTTP routing map,
actions and menus from the xmlids of our data files, buttons from the public
methods our classes define.  A model, route, action, menu or button added later
is therefore tested too; the test fails until it is classified below.
"""

import csv
import inspect
import json
import logging
import os
import re

from odoo import http
from odoo.exceptions import AccessError, UserError
from odoo.models import check_method_name
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import mute_logger

from ..tools.delivery_stats import DeliveryCounts

_logger = logging.getLogger(__name__)

MODULES = ("mail_reliability", "mail_reliability_mass_mailing")
ADDONS_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Every model our addons define: all of them are administrator tools.
ADMIN_MODELS = {
    "mail.mail.retry.wizard",
    "mail.quota.usage",
    "mail.quota.lease",
    "mail.pacing.window",
    "mail.quota.facts.wizard",
    "mail.quota.saver.wizard",
    "mail.quota.saver.wizard.line",
    "mail.incoming.rejection",
    "mail.health.check",
    "mail.support.bundle",
    "mail.log.search",
    "mail.bounce.report",
    "mail.delivery.stats",
    "mail.delivery.issue",
}
# Abstract models hold no rows (no access rules needed); their methods are private.
ABSTRACT_MODELS = {"mail.reliability.vacuum"}

# Public methods that are ORM plumbing or stock entry points we only extend.
ORM_METHODS = {
    "create",
    "write",
    "unlink",
    "copy",
    "read",
    "default_get",
    "get_values",
    "set_values",
    "execute",
    "name_create",
    "export_data",
}
# Stock entry points whose access stock Odoo governs (mail gateway, SMTP API).
STOCK_ENTRY_POINTS = {
    ("mail.thread", "message_process"),
    ("mail.thread", "message_route"),
    ("ir.mail_server", "connect"),
    ("ir.mail_server", "send_email"),
    ("mailing.mailing", "search"),  # ORM search; the bridge narrows it only inside a queue run
}
# Buttons an internal user may use (on their own messages): the resend dialog.
ALLOWED_FOR_INTERNAL = {
    ("mail.resend.message", "resend_mail_action"),
    ("mail.resend.message", "cancel_mail_action"),
}
# Models an internal user may have access to through another app's group.
APP_MODELS = {"mailing.mailing", "mailing.trace", "mail.compose.message"}


def our_classes(model):
    """The classes of ``model`` defined in our addons."""
    return [
        cls
        for cls in type(model).__mro__
        if any(cls.__module__.startswith(f"odoo.addons.{m}.") for m in MODULES)
    ]


def csv_rows():
    rows = []
    for module in MODULES:
        path = os.path.join(ADDONS_DIR, module, "security", "ir.model.access.csv")
        with open(path, encoding="utf-8") as handle:
            rows += [dict(row, module=module) for row in csv.DictReader(handle)]
    return rows


@tagged("mail_reliability", "post_install", "-at_install")
class TestAccess(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.internal = new_test_user(
            cls.env, "mr_access_internal", groups="base.group_user", email="int@corp.test"
        )
        cls.portal = new_test_user(
            cls.env, "mr_access_portal", groups="base.group_portal", email="portal@corp.test"
        )
        cls.users = {"internal": cls.internal, "portal": cls.portal}
        cls.mail = cls.env["mail.mail"].create(
            {"subject": "Access", "email_to": "x@dest.test", "body_html": "<p>x</p>"}
        )

    # ------------------------------------------------------------------
    # Enumeration
    # ------------------------------------------------------------------
    def our_models(self):
        """Models whose ``_name`` our addons introduce (not the ones they extend)."""
        data = self.env["ir.model.data"].search(
            [("model", "=", "ir.model"), ("module", "in", MODULES)]
        )
        names = self.env["ir.model"].browse(data.mapped("res_id")).mapped("model")
        return {n for n in names if n in self.env and self.env[n]._original_module in MODULES}

    def our_xmlids(self, model_prefix):
        data = self.env["ir.model.data"].search(
            [("model", "=like", f"{model_prefix}%"), ("module", "in", MODULES)]
        )
        return {f"{d.module}.{d.name}": self.env[d.model].browse(d.res_id) for d in data}

    def sample(self, model_name):
        """A record to call buttons on (as an administrator created it)."""
        Model = self.env[model_name].sudo()
        if model_name == "mail.mail":
            return self.mail
        if model_name in ("mail.support.bundle", "mail.log.search"):
            return Model.create({"query": "x"} if model_name == "mail.log.search" else {})
        if model_name == "mailing.mailing":
            return Model.create({"subject": "Access", "body_html": "<p>x</p>"})
        if model_name == "mail.quota.usage":
            values = {"day": "2026-11-10", "scope": "database"}
            return Model.search([(k, "=", v) for k, v in values.items()]) or Model.create(values)
        if model_name == "mail.quota.lease":
            usage = self.sample("mail.quota.usage")
            return Model.create({"usage_id": usage.id, "scope": usage.scope})
        if model_name == "mail.pacing.window":
            server = self.env["ir.mail_server"].create({"name": "Access", "smtp_host": "x.test"})
            return Model.create({"mail_server_id": server.id, "last_second": "2026-11-10"})
        if model_name == "mail.health.check":
            return Model._ensure_rows()[:1]
        if model_name == "mail.incoming.rejection":
            return Model.create({"reason": "no_route", "message_id": "<access@test>"})
        if model_name == "mail.bounce.report":
            return Model.create({"email": "access@remote.test", "kind": "soft"})
        if model_name == "mail.resend.partner":
            partner = self.env["res.partner"].create({"name": "A", "email": "access@remote.test"})
            notification = self.env["mail.notification"].create(
                {
                    "mail_message_id": self.mail.mail_message_id.id,
                    "res_partner_id": partner.id,
                    "notification_type": "email",
                    "notification_status": "exception",
                    "failure_type": "mail_smtp",
                }
            )
            return Model.create({"notification_id": notification.id, "partner_id": partner.id})
        if model_name == "mail.delivery.stats":
            counts = DeliveryCounts()
            counts.add(["access@remote.test"], "attempted")
            Model._mr_write_counts(counts)
            return Model.search([("recipient_domain", "=", "remote.test")], limit=1)
        if model_name == "mail.delivery.issue":
            self.sample("mail.incoming.rejection").email_from_normalized = "access@remote.test"
            self.env.flush_all()
            return Model.search([("email", "=", "access@remote.test")], limit=1)
        if model_name == "mail.quota.saver.wizard.line":
            wizard = self.sample("mail.quota.saver.wizard")
            return Model.create({"wizard_id": wizard.id, "user_id": self.env.user.id})
        if model_name == "mail.mail.retry.wizard":
            return Model.with_context(active_model="mail.mail", active_ids=self.mail.ids).create({})
        if Model._transient or Model._abstract:
            return Model.create({}) if Model._transient else Model
        return Model.search([], limit=1)

    # ------------------------------------------------------------------
    # Models
    # ------------------------------------------------------------------
    def test_every_model_is_classified_and_has_rules(self):
        models = self.our_models()
        self.assertEqual(
            models,
            ADMIN_MODELS | ABSTRACT_MODELS,
            "a model was added or removed: classify it here and give it access rules",
        )
        rows = csv_rows()
        csv_models = {row["model_id:id"].split(".")[-1] for row in rows}
        for name in ADMIN_MODELS:
            with self.subTest(model=name):
                self.assertIn("model_" + name.replace(".", "_"), csv_models)
                rules = self.env["ir.model.access"].search([("model_id.model", "=", name)])
                self.assertTrue(rules, f"{name} has access rules in the database")
                self.assertEqual(set(rules.mapped("group_id")), {self.env.ref("base.group_system")})
        for row in rows:
            with self.subTest(rule=row["id"]):
                self.assertEqual(row["group_id:id"], "base.group_system", "admin tools only")

    def test_users_are_refused_every_admin_model(self):
        for (who, user), name in (
            (pair, name) for pair in self.users.items() for name in sorted(ADMIN_MODELS)
        ):
            with self.subTest(user=who, model=name):
                Model = self.env[name].with_user(user)
                for operation in ("read", "write", "create", "unlink"):
                    self.assertFalse(
                        Model.check_access_rights(operation, raise_exception=False),
                        f"{who} may not {operation} {name}",
                    )
                with self.assertRaises(AccessError):
                    Model.search([])
                with self.assertRaises(AccessError), mute_logger("odoo.models"):
                    Model.create({})
                record = self.sample(name)
                with self.assertRaises(AccessError):
                    record.with_user(user).read([])

    # ------------------------------------------------------------------
    # Buttons and crons
    # ------------------------------------------------------------------
    def public_methods(self):
        """``{(model, method)}`` for every public method our classes define."""
        found = set()
        for name in self.env.registry:
            for cls in our_classes(self.env[name]):
                for attr, value in vars(cls).items():
                    if attr.startswith("_") or not inspect.isfunction(value):
                        continue
                    if attr not in ORM_METHODS:
                        found.add((cls._name or name, attr))
        return found

    def test_buttons_refused_to_portal_and_internal_users(self):
        methods = self.public_methods()
        self.assertIn(("mail.health.check", "action_run_checks"), methods)
        self.assertIn(("mail.mail", "action_retry"), methods)
        checked = 0
        for model_name, method in sorted(methods):
            if (model_name, method) in STOCK_ENTRY_POINTS | ALLOWED_FOR_INTERNAL:
                continue
            self.assertFalse(
                self.env[model_name]._abstract,
                f"{model_name}.{method}: public method on an abstract model, classify it",
            )
            record = self.sample(model_name)
            for who, user in self.users.items():
                with self.subTest(model=model_name, method=method, user=who):
                    with self.assertRaises(AccessError), mute_logger("odoo.models"):
                        getattr(record.with_user(user), method)()
                    checked += 1
        _logger.info("access: %s button calls refused", checked)
        self.assertGreaterEqual(checked, 2 * 20)

    def test_crons_are_not_callable_remotely(self):
        crons = self.our_xmlids("ir.cron")
        self.assertGreaterEqual(len(crons), 3)
        for xmlid, cron in crons.items():
            method = re.search(r"model\.(\w+)\(", cron.code).group(1)
            with self.subTest(cron=xmlid):
                self.assertTrue(method.startswith(("_cron_", "_gc_")), method)
                with self.assertRaises(AccessError):
                    check_method_name(method)
        # and through the JSON-RPC endpoint the web client uses, even as administrator
        self.authenticate("admin", "admin")
        for cron in crons.values():
            method = re.search(r"model\.(\w+)\(", cron.code).group(1)
            with mute_logger("odoo.http"):
                response = self.make_jsonrpc_request_raw(cron.model_id.model, method)
            self.assertIn("error", response)
            self.assertIn("cannot be called remotely", response["error"]["data"]["message"])

    def make_jsonrpc_request_raw(self, model, method):
        response = self.url_open(
            "/web/dataset/call_kw",
            data=json.dumps(
                {
                    "jsonrpc": "2.0",
                    "method": "call",
                    "params": {"model": model, "method": method, "args": [], "kwargs": {}},
                }
            ),
            headers={"Content-Type": "application/json"},
        )
        return response.json()

    # ------------------------------------------------------------------
    # Actions and menus
    # ------------------------------------------------------------------
    def test_actions_and_menus(self):
        actions = self.our_xmlids("ir.actions")
        menus = self.our_xmlids("ir.ui.menu")
        _logger.info("access: %s actions, %s menus", len(actions), len(menus))
        self.assertGreaterEqual(len(actions), 16)
        for xmlid, action in actions.items():
            for who, user in self.users.items():
                with self.subTest(action=xmlid, user=who):
                    offered = (
                        action.res_model not in APP_MODELS
                        if action._name == "ir.actions.act_window"
                        else action.usage != "ir_cron"  # a cron's own code runs as its user
                    )
                    if offered:
                        # groups= on the action: it is offered to administrators only
                        self.assertIn(self.env.ref("base.group_system"), action.groups_id)
                    if action._name == "ir.actions.act_window":
                        if action.res_model in APP_MODELS:
                            # Email Marketing's own group decides; ours has none of it
                            self.assertFalse(user.has_group("mass_mailing.group_mass_mailing_user"))
                        self.assertFalse(
                            self.env[action.res_model]
                            .with_user(user)
                            .check_access_rights("read", raise_exception=False),
                            f"{xmlid} opens {action.res_model}, which {who} must not read",
                        )
                    elif action._name == "ir.actions.server":
                        target = self.sample(action.model_id.model)
                        ids = [] if target._abstract else target.ids
                        with self.assertRaises(UserError):  # AccessError included
                            action.with_user(user).with_context(
                                active_model=target._name,
                                active_id=ids[0] if ids else False,
                                active_ids=ids,
                            ).run()
                    else:
                        self.fail(f"{xmlid}: unclassified action type {action._name}")
        self.assertGreaterEqual(len(menus), 8)
        Menu = self.env["ir.ui.menu"]
        for who, user in self.users.items():
            for debug in (False, True):
                try:
                    visible = Menu.with_user(user)._visible_menu_ids(debug=debug)
                except AccessError:
                    visible = set()  # portal users read no menu at all
                for xmlid, menu in menus.items():
                    with self.subTest(menu=xmlid, user=who, debug=debug):
                        self.assertNotIn(menu.id, visible)
        admin_visible = Menu.with_user(self.env.ref("base.user_admin"))._visible_menu_ids()
        self.assertTrue(
            {m.id for m in menus.values() if "mass_mailing" not in m.get_external_id()[m.id]}
            <= admin_visible
        )

    # ------------------------------------------------------------------
    # Routes
    # ------------------------------------------------------------------
    def our_routes(self):
        routes = []
        for url, endpoint in http._generate_routing_rules(MODULES, nodb_only=False):
            routes.append((url, endpoint.routing))
        return routes

    def fill(self, url, bundle):
        values = {
            "model": "mail.mail",
            "ids": str(self.mail.id),
            "bundle_id": str(bundle.id),
        }
        return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], url)

    def test_routes_refused(self):
        routes = self.our_routes()
        self.assertGreaterEqual(len(routes), 2)
        admin = self.env.ref("base.user_admin")
        bundle = self.env["mail.support.bundle"].with_user(admin).create({"mail_id": self.mail.id})
        bundle._action_generate()
        for url, routing in routes:
            path = self.fill(url, bundle)
            with self.subTest(route=url, user="anonymous"):
                self.authenticate(None, None)
                response = self.url_open(path, allow_redirects=False)
                self.assertIn(response.status_code, (303, 302, 403, 404))
                if response.status_code in (302, 303):
                    self.assertIn("/web/login", response.headers["Location"])
            for login in ("mr_access_internal", "mr_access_portal"):
                with self.subTest(route=url, user=login):
                    self.authenticate(login, login)
                    with mute_logger("odoo.http"):
                        response = self.url_open(path, allow_redirects=False)
                    self.assertIn(response.status_code, (403, 404), response.text[:300])
                    self.assertNotIn(b"Access", response.content[:0])
                    self.assertNotIn("message/rfc822", response.headers.get("Content-Type", ""))
                    self.assertNotIn("application/zip", response.headers.get("Content-Type", ""))
            # and the administrator gets the file
            self.authenticate("admin", "admin")
            response = self.url_open(path)
            self.assertEqual(response.status_code, 200, f"{url} works for the administrator")
            self.assertEqual(routing.get("auth"), "user")

    # ------------------------------------------------------------------
    # Allowed: an internal user and their own failed message
    # ------------------------------------------------------------------
    def test_internal_user_reads_own_failure_explanation(self):
        partner = self.env["res.partner"].create({"name": "Gone", "email": "gone@dest.test"})
        record = self.env["res.partner"].create({"name": "Customer file"})
        # the internal user wrote to a customer; the mail bounced
        message = record.message_post(
            body="Hello",
            author_id=self.internal.partner_id.id,
            partner_ids=partner.ids,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )
        notification = message.notification_ids.filtered(lambda n: n.res_partner_id == partner)
        notification.write(
            {
                "notification_status": "exception",
                "failure_type": "mail_smtp_recipient",
                "failure_reason": "550 5.1.1 <gone@dest.test>: User unknown",
                "smtp_code": 550,
                "smtp_status": "5.1.1",
            }
        )
        notification.invalidate_recordset()
        mine = notification.with_user(self.internal)
        self.assertIn("does not exist", mine.failure_explanation)
        self.assertEqual(mine.smtp_status, "5.1.1")
        wizard = (
            self.env["mail.resend.message"]
            .with_user(self.internal)
            .with_context(mail_message_to_resend=message.id)
            .create({})
        )
        self.assertEqual(wizard.partner_ids.partner_id, partner)
        # a portal user may see the notification's status but not the SMTP details
        for field in ("failure_reason", "failure_explanation", "smtp_status"):
            with self.subTest(field=field), self.assertRaises(AccessError):
                notification.with_user(self.portal).read([field])

    # ------------------------------------------------------------------
    # One way to say "administrators only"
    # ------------------------------------------------------------------
    def test_admin_only_is_enforced_by_access_rights(self):
        """Access rights and groups= decide; code that needs a check (a controller, a
        sudo() read) asks the tool model's access rights (check_access), never the
        user's groups by hand."""
        hand_made = re.compile(
            r"\bis_system\(|\._is_system\(|\._is_admin\(|is_superuser\(|user_has_groups\("
            r"|has_group\(\s*[\"']base\.group_(system|erp_manager)"
        )
        found = []
        for module in MODULES:
            root = os.path.join(ADDONS_DIR, module)
            for folder, _dirs, files in os.walk(root):
                if os.sep + "tests" in folder[len(root) :]:
                    continue
                for name in files:
                    if not name.endswith(".py"):
                        continue
                    path = os.path.join(folder, name)
                    with open(path, encoding="utf-8") as handle:
                        for lineno, line in enumerate(handle, 1):
                            if hand_made.search(line):
                                found.append(f"{os.path.relpath(path, ADDONS_DIR)}:{lineno}")
        self.assertEqual(found, [], "admin-only is enforced by access rights (check_access)")
        # and the access rights answer for the tools the code checks guard
        for name in ("mail.support.bundle", "mail.health.check", "mail.log.search"):
            with self.subTest(model=name):
                self.env[name].check_access("create")  # the administrator may
                for user in self.users.values():
                    with self.assertRaises(AccessError):
                        self.env[name].with_user(user).check_access("create")

# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Screenshots of the pacing, settings and Email Health screens on bin/run's demo.

    MR_DB=mr_shots MR_HTTP_PORT=8077 MR_SMTP_PORT=2577 bin/run --detach
    python -m venv /tmp/shots && /tmp/shots/bin/pip install playwright dnslib
    PYTHONPATH=mail_reliability/tests /tmp/shots/bin/python bin/screenshots.py \\
        --url http://localhost:8077 --db mr_shots --out /tmp/shots-png [--readme]

Drives Debian's Chromium (``/usr/bin/chromium``, headless) through Playwright
and talks to Odoo over XML-RPC as admin/admin. It takes every screen at 1280
and 1920 px wide (``<name>-<width>.png`` in ``--out``), once with bin/run's
demo DNS zone and once per DNS scenario of :data:`SCENARIOS` (a DNS peer of its
own, with the Email Health settings pointed at it and put back afterwards);
``--readme`` also writes the cropped pictures the readme shows into
``mail_reliability/static/description/``. Before the server forms, it sends one
email to the sink's ``throttled*`` address through the demo's office relay, so
that the relay shows a fresh slow-down.
"""

import argparse
import json
import os
import time
import xmlrpc.client

from playwright.sync_api import sync_playwright

HERE = os.path.dirname(os.path.abspath(__file__))
DESCRIPTION = os.path.join(HERE, "..", "mail_reliability", "static", "description")
WIDTHS = (1280, 1920)
PAUSE = 2.5  # seconds after "load": the web client renders after the page loads
BULK_LABEL = "Bulk sender rules (Gmail, Yahoo)"
PARAMS = (
    "mail_reliability.dns_nameserver",
    "mail_reliability.dns_port",
    "mail_reliability.dkim_selectors",
    "web.base.url",
    "web.base.url.freeze",
)
with open(os.path.join(HERE, "demo_dns_zone.json")) as _zone:
    DEMO_ZONE = [tuple(tuple(v) if isinstance(v, list) else v for v in r) for r in json.load(_zone)]
DEMO_KEY = next(value for name, _t, value in DEMO_ZONE if name.startswith("odoo._domainkey."))
# name: (records added to the demo zone, records removed, extra parameters)
SCENARIOS = {
    # every rule passes: news.example.com got its key, Odoo is served over https
    "pass": (
        [("odoo._domainkey.news.example.com", "TXT", DEMO_KEY)],
        [],
        {"web.base.url": "https://odoo.example.com", "web.base.url.freeze": "True"},
    ),
    # the configured selector's key was revoked, no DMARC record
    "revoked": (
        [("odoo._domainkey.example.com", "TXT", "v=DKIM1; k=rsa; p=")],
        [
            ("odoo._domainkey.example.com", "TXT", DEMO_KEY),
            *[r for r in DEMO_ZONE if "_dmarc" in r[0]],
        ],
        {},
    ),
}


class Odoo:
    def __init__(self, url, db, login="admin", password="admin"):
        self.url, self.db, self.password = url, db, password
        common = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/common")
        self.uid = common.authenticate(db, login, password, {})
        if not self.uid:
            raise SystemExit(f"cannot log in to {db} on {url} as {login}")
        self.models = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/object", allow_none=True)

    def call(self, model, method, *args, **kwargs):
        return self.models.execute_kw(
            self.db, self.uid, self.password, model, method, list(args), kwargs
        )

    def param(self, key):
        return self.call("ir.config_parameter", "get_param", key)

    def set_param(self, key, value):
        return self.call("ir.config_parameter", "set_param", key, value)


def shoot(page, url, path, crop=None, scroll_to=None):
    page.goto(url, wait_until="load")
    time.sleep(PAUSE)
    if scroll_to:
        page.locator(scroll_to).first.scroll_into_view_if_needed()
        time.sleep(0.5)
    page.screenshot(path=path, full_page=True)
    print("wrote", path)
    if crop:
        boxes = [page.locator(sel).first.bounding_box() for sel in crop["selectors"]]
        boxes = [b for b in boxes if b]
        if not boxes:
            print("  nothing to crop for", crop["path"])
            return
        pad = 8
        x = max(0, min(b["x"] for b in boxes) - pad)
        y = max(0, min(b["y"] for b in boxes) - pad)
        right = max(b["x"] + b["width"] for b in boxes) + pad
        bottom = max(b["y"] + b["height"] for b in boxes)
        page.screenshot(
            path=crop["path"],
            full_page=True,
            clip={"x": x, "y": y, "width": right - x, "height": bottom - y},
        )
        print("wrote", crop["path"])


def throttle_office_relay(odoo):
    servers = odoo.call(
        "ir.mail_server", "search_read", [["name", "like", "Office relay"]], fields=["id"]
    )
    if not servers:
        return
    # Back to full pace first, so that the reply below is the first of its slow-down.
    odoo.call(
        "ir.mail_server",
        "write",
        [servers[0]["id"]],
        {"slowed_until": False, "slow_level": 0, "slowed_reason": False},
    )
    mail_id = odoo.call(
        "mail.mail",
        "create",
        {
            "subject": "Payment reminder",
            "body_html": "<p>Reminder.</p>",
            "email_from": "admin@example.com",
            "email_to": f"throttled-{int(time.time())}@customer-corp.example.com",
            "mail_server_id": servers[0]["id"],
            "auto_delete": False,
        },
    )
    try:
        odoo.call("mail.mail", "send", [mail_id], raise_exception=False)
    except xmlrpc.client.Fault as fault:  # sent; only its None result cannot go back
        if "marshal None" not in fault.faultString:
            raise


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://localhost:8069")
    parser.add_argument("--db", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--readme", action="store_true", help="write the readme's cropped pictures")
    options = parser.parse_args()
    os.makedirs(options.out, exist_ok=True)
    odoo = Odoo(options.url, options.db)
    throttle_office_relay(odoo)
    servers = odoo.call(
        "ir.mail_server", "search_read", [], fields=["id", "name"], order="sequence"
    )
    saved = {key: odoo.param(key) for key in PARAMS}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True)
        for width in WIDTHS:
            # Tall enough for the whole dashboard: the web client scrolls inside the page.
            page = browser.new_page(viewport={"width": width, "height": 1400})
            page.goto(f"{options.url}/web/login?db={options.db}", wait_until="load")
            page.fill("input[name=login]", "admin")
            page.fill("input[name=password]", "admin")
            page.click("button[type=submit]")
            page.wait_for_load_state("load")
            time.sleep(PAUSE)
            readme = options.readme and width == WIDTHS[0]
            for server in servers:
                crop = None
                if readme and "Office relay" in server["name"]:
                    crop = {
                        "selectors": [".o_form_sheet .o_group:has(div:text-is('Pacing'))"],
                        "path": os.path.join(DESCRIPTION, "pacing_server.png"),
                    }
                shoot(
                    page,
                    f"{options.url}/odoo/ir.mail_server/{server['id']}",
                    os.path.join(options.out, f"server{server['id']}-{width}.png"),
                    crop,
                )
            shoot(
                page,
                f"{options.url}/odoo/settings",
                os.path.join(options.out, f"settings-{width}.png"),
                readme
                and {
                    "selectors": ["#mail_reliability_queue_lanes", "#mail_reliability_pacing"],
                    "path": os.path.join(DESCRIPTION, "settings_lanes_pacing.png"),
                },
                scroll_to="#mail_reliability_queue_lanes",
            )
            odoo.call("mail.health.check", "action_run_checks")
            if readme:
                shoot(
                    page,
                    f"{options.url}/odoo/action-mail_reliability.mail_health_check_action",
                    os.path.join(DESCRIPTION, "email_health_dashboard.png"),
                    {
                        "selectors": [".o_control_panel", ".o_kanban_renderer"],
                        "path": os.path.join(DESCRIPTION, "email_health_dashboard.png"),
                    },
                )
            shoot(
                page,
                f"{options.url}/odoo/action-mail_reliability.mail_health_check_action",
                os.path.join(options.out, f"health-demo-{width}.png"),
                readme
                and {
                    "selectors": [
                        ".o_kanban_record:has(.fw-bold:text-is('DKIM'))",
                        ".o_kanban_record:has(.fw-bold:text-is('Daily quota'))",
                        f".o_kanban_record:has(.fw-bold:text-is('{BULK_LABEL}'))",
                    ],
                    "path": os.path.join(DESCRIPTION, "health_dkim_bulk.png"),
                },
            )
            for name, (added, removed, params) in SCENARIOS.items():
                from peers.dns_peer import DnsPeer  # pylint: disable=import-outside-toplevel

                peer = DnsPeer()
                for record in DEMO_ZONE + added:
                    if record not in removed:
                        peer.add(*record)
                peer.start()
                try:
                    odoo.set_param("mail_reliability.dns_nameserver", "127.0.0.1")
                    odoo.set_param("mail_reliability.dns_port", str(peer.port))
                    for key, value in params.items():
                        odoo.set_param(key, value)
                    odoo.call("mail.health.check", "action_run_checks")
                    shoot(
                        page,
                        f"{options.url}/odoo/action-mail_reliability.mail_health_check_action",
                        os.path.join(options.out, f"health-{name}-{width}.png"),
                    )
                finally:
                    for key, value in saved.items():
                        odoo.set_param(key, value or False)
                    peer.stop()
            page.close()
        browser.close()
    odoo.call("mail.health.check", "action_run_checks")


if __name__ == "__main__":
    main()

# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Download URLs and wizards fed hostile ids, over real HTTP.

Every answer is a clean 4xx (or the administrator's own download), never a 500
or a traceback, and never another user's data.
"""

import io
import json
import random
import zipfile

from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import mute_logger

from .fuzz_settings import SEED, budget

SECRET = "Body of a private mail 7f3c"
HOSTILE_IDS = [
    "0",
    "-1",
    "-2147483649",
    "2147483647",
    "2147483648",
    "99999999999999999999",
    "9" * 400,
    "1e3",
    "0x10",
    "abc",
    " 1",
    "1 ",
    "%00",
    "1%002",
    "1;2",
    ",",
    ",,,",
    "1,,1",
    "\u0661",  # an Arabic-Indic one: int() reads it as 1
    "NaN",
    "None",
    "[1]",
    "1.0",
]
# No ".." or "%2e": the HTTP client resolves dot segments, so such a URL is another path
# (and stock's fallback answers 500 to any unknown path with %00, see eml_urls).
MODELS = ["mail.mail", "mail.message", "res.users", "ir.attachment", "mail.mail ", "mail.mail."]
QUIET = ("odoo.http", "odoo.addons.mail_reliability.controllers.main", "odoo.sql_db")


@tagged("mail_reliability", "mr_fuzz", "post_install", "-at_install")
class TestControllerFuzz(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.mail = cls.env["mail.mail"].create(
            {"subject": "Private", "body_html": f"<p>{SECRET}</p>", "email_to": "bob@dest.test"}
        )
        cls.user = new_test_user(cls.env, "mr_fuzz_user", groups="base.group_user")
        cls.admin2 = new_test_user(cls.env, "mr_fuzz_admin2", groups="base.group_system")
        other_bundle = (
            cls.env["mail.support.bundle"].with_user(cls.admin2).create({"mail_id": cls.mail.id})
        )
        other_bundle.action_generate()
        cls.other_bundle = other_bundle

    def get(self, url, label):
        with mute_logger(*QUIET):
            response = self.url_open(url, timeout=60, allow_redirects=False)
        self.assertNotEqual(response.status_code, 500, f"{label}: {url[:200]} gave a 500")
        self.assertNotIn(b"Traceback", response.content, label)
        return response

    def assert_refused(self, url, label):
        response = self.get(url, label)
        self.assertTrue(400 <= response.status_code < 500, f"{label}: {response.status_code}")
        self.assertNotIn(SECRET.encode(), response.content, f"{label}: leaked another's data")
        return response

    def eml_urls(self, rng, count):
        mine = str(self.mail.id)
        urls = [f"/mail_reliability/eml/mail.mail/{ids}" for ids in HOSTILE_IDS]
        urls += [f"/mail_reliability/eml/{model}/{mine}" for model in MODELS[2:]]
        # A NUL never reaches the bundle route (its <int:> converter refuses it): stock's
        # fallback (ir.http._serve_fallback) then searches attachments by that path and
        # answers 500 for any unknown URL with %00 -- stock behaviour, not ours.
        urls += [f"/mail_reliability/bundle/{ids}" for ids in HOSTILE_IDS if "%00" not in ids]
        urls.append(f"/mail_reliability/bundle/{self.other_bundle.id}")
        for _i in range(count):
            ids = ",".join(
                rng.choice([*HOSTILE_IDS, "1", "2", mine]) for _j in range(rng.randint(1, 6))
            )
            urls.append(f"/mail_reliability/eml/{rng.choice(MODELS)}/{ids}")
        return urls

    def test_hostile_ids_as_administrator(self):
        self.authenticate("admin", "admin")
        count, _deadline = budget(20)
        for url in self.eml_urls(random.Random(SEED), min(count, 400)):
            with self.subTest(url=url[:120]):
                response = self.get(url, "admin")
                if response.status_code == 200:
                    # only the administrator's own download of an existing mail
                    self.assertIn("/mail_reliability/eml/mail.", url)
                else:
                    self.assertTrue(400 <= response.status_code < 500, response.status_code)
        # another administrator's bundle is not served
        self.assert_refused(f"/mail_reliability/bundle/{self.other_bundle.id}", "other's bundle")

    def test_hostile_ids_as_user(self):
        self.authenticate("mr_fuzz_user", "mr_fuzz_user")
        mine = f"/mail_reliability/eml/mail.mail/{self.mail.id}"
        for url in [*self.eml_urls(random.Random(SEED), 10), mine]:
            with self.subTest(url=url[:120]):
                self.assert_refused(url, "user")

    def test_repeated_ids_give_one_file_each(self):
        """ "1,1" zipped the same .eml twice under one name (zipfile: Duplicate name)."""
        self.authenticate("admin", "admin")
        other = self.env["mail.mail"].create({"subject": "Other", "email_to": "ann@dest.test"})
        mine = self.mail.id
        response = self.get(f"/mail_reliability/eml/mail.mail/{mine},{other.id},{mine},{mine}", "")
        self.assertEqual(response.status_code, 200)
        names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
        self.assertEqual(sorted(names), [f"mail-{mine}.eml", f"mail-{other.id}.eml"])
        response = self.get(f"/mail_reliability/eml/mail.mail/{mine},{mine}", "")
        self.assertEqual(response.headers["Content-Type"], "message/rfc822")

    def test_oversized_requests(self):
        self.authenticate("admin", "admin")
        many = ",".join(str(i) for i in range(1, 6000))  # about 30 kB of ids
        self.get(f"/mail_reliability/eml/mail.mail/{many}", "6,000 ids")
        self.assert_refused("/mail_reliability/eml/mail.mail/" + "9" * 20_000, "20 kB id")
        with mute_logger(*QUIET):
            response = self.url_open(
                f"/mail_reliability/eml/mail.mail/{self.mail.id}",
                data={"junk": "x" * 1_000_000},
                timeout=60,
            )
        self.assertNotEqual(response.status_code, 500)

    def call_kw(self, model, method, args, kwargs=None):
        payload = {
            "jsonrpc": "2.0",
            "method": "call",
            "params": {"model": model, "method": method, "args": args, "kwargs": kwargs or {}},
        }
        with mute_logger(*QUIET, "odoo.addons.mail_reliability.wizard.mail_support_bundle"):
            response = self.url_open(
                f"/web/dataset/call_kw/{model}/{method}",
                data=json.dumps(payload),
                headers={"Content-Type": "application/json"},
                timeout=60,
            )
        self.assertEqual(response.status_code, 200)
        return response.json()

    def assert_clean(self, answer, label):
        """A result, or an error the user can read (UserError and its kin)."""
        error = answer.get("error")
        if error:
            name = error["data"]["name"]
            self.assertTrue(
                name.startswith("odoo.exceptions."), f"{label}: {name}: {error['data']['message']}"
            )
        else:
            self.assertNotIn(SECRET, json.dumps(answer), f"{label}: leaked another's data")

    def test_wizards_with_hostile_ids(self):
        self.authenticate("admin", "admin")
        for res_id in (0, -1, 2147483647, 2**31, 10**20):
            for res_model in ("res.partner", "res.users", "mail.mail", "no.such.model", ""):
                label = f"support bundle {res_model}/{res_id}"
                with self.subTest(case=label):
                    answer = self.call_kw(
                        "mail.support.bundle",
                        "create",
                        [{"res_model": res_model, "res_id": res_id}],
                    )
                    self.assert_clean(answer, label)
                    if not answer.get("error"):
                        answer = self.call_kw(
                            "mail.support.bundle", "action_generate", [answer["result"]]
                        )
                        self.assert_clean(answer, label)
            label = f"resend dialog for message {res_id}"
            with self.subTest(case=label):
                answer = self.call_kw(
                    "mail.resend.message",
                    "default_get",
                    [["notification_ids", "partner_ids"]],
                    {"context": {"mail_message_to_resend": res_id}},
                )
                self.assert_clean(answer, label)

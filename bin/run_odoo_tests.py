"""Run Odoo test modules on a fully loaded registry (used by bin/test-odoo-mail-suites).

    run_odoo_tests.py CONF DB MODULES TAGS [ODOO_OPTION...]

MODULES: comma-separated Odoo modules whose tests run (e.g. mail,test_mail).
TAGS: an Odoo ``--test-tags`` spec selecting among them.

``odoo-bin --test-enable`` runs the ``at_install`` tests of a module while that module
loads, before the addons that depend on it (ours depend on ``mail``): ``mail``'s and
``mass_mailing``'s own tests would never see our addons. Here the database is already
installed; the whole registry loads first, then the ``at_install`` tests of each module
run (in the order given), then all ``post_install`` tests, with Odoo's own runner and log
lines ("Starting ...", "FAIL: ...", "N failed, N error(s) of N tests when loading database").
An HTTP server runs for the browser tours (``HttpCase``).
"""

import logging
import sys

import odoo
from odoo.tools import config


def main(conf, db, modules, tags, *options):
    # No --test-enable while the registry loads: Odoo would run at_install tests on the
    # partial registry of each module as it loads (--test-tags alone switches it on too).
    config.parse_config(
        ["-c", conf, "-d", db, "--log-level=info", "--max-cron-threads=0", *options]
    )
    odoo.netsvc.init_logger()
    odoo.service.server.load_server_wide_modules()
    from odoo.modules.registry import Registry
    from odoo.service import server
    from odoo.tests import loader
    from odoo.tests.result import OdooTestResult
    from odoo.tests.result import _logger as result_logger

    registry = Registry(db)
    logging.getLogger("odoo.tests.suites").info(
        "Odoo's tests of %s on the registry of %s with %s",
        modules,
        db,
        ",".join(sorted(registry._init_modules)),
    )
    server.server = server.ThreadedServer(odoo.http.root)
    server.server.http_spawn()  # HttpCase tours talk to it
    config["test_enable"] = True
    config["test_tags"] = tags
    report = OdooTestResult()
    names = [name for name in modules.split(",") if name]
    suites = [loader.make_suite([name], "at_install") for name in names]
    post_install = loader.make_suite(names, "post_install")
    if post_install.has_http_case():
        with registry.cursor() as cr:
            odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})["ir.qweb"]._pregenerate_assets_bundles()
    for suite in [*suites, post_install]:
        if suite.countTestCases():
            report.update(loader.run_suite(suite))
    report.log_stats()
    log = result_logger.error if not report.wasSuccessful() else result_logger.info
    log("%s when loading database %r", report, db)
    server.server.httpd.shutdown()
    return 0 if report.wasSuccessful() and report.testsRun else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))

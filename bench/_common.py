"""Plumbing shared by the benchmarks in ``bench/``.

* ``parser()`` / ``parse_args()``: the arguments every bench takes (``--config``,
  ``--stock-db``, ``--ours-db``, ``--json``), then Odoo's configuration loaded from
  ``--config``;
* ``smtp_sink()``: the real SMTP sink of the tests (``peers.SmtpSink``, the test kit in
  ``mail_reliability/tests/peers/``, imported by name: ``bin/_bench_lib.sh`` puts
  ``mail_reliability/tests`` on ``PYTHONPATH``);
* ``environment()`` / ``timed_transaction()``: one committed transaction on a database;
* ``QueueWorkers``: Odoo processes sending a database's email queue
  (``reliability/worker.py``), loaded before the clock starts and released at once;
* ``machine_info()`` / ``odoo_source_info()`` / ``write_json()``: the result files in
  ``bench/results/`` that ``bench/report.py`` renders into ``bench/RESULTS.md``.

Nothing here is measured: the benches time only their own calls.
"""

import argparse
import contextlib
import datetime
import hashlib
import json
import logging
import os
import pathlib
import platform
import subprocess
import sys
import time

BENCH_DIR = pathlib.Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
WORKER = REPO_DIR / "reliability" / "worker.py"

# Files whose content identifies the Odoo source when it is not a git checkout.
ODOO_FINGERPRINT_FILES = (
    "odoo/release.py",
    "odoo/models.py",
    "odoo/addons/base/models/ir_mail_server.py",
    "addons/mail/models/mail_mail.py",
    "addons/mail/models/mail_message.py",
    "addons/mail/models/mail_thread.py",
    "addons/mass_mailing/models/mailing.py",
)


def parser(description):
    """An argument parser with the options every bench takes."""
    result = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    result.add_argument("--config", required=True, help="Odoo configuration file")
    result.add_argument("--stock-db", required=True, help="database with stock Odoo addons only")
    result.add_argument("--ours-db", required=True, help="database with our addons installed")
    result.add_argument("--json", help="write the figures to this file")
    return result


def parse_args(argparser, argv=None):
    """Parse the command line and load Odoo's configuration from ``--config``."""
    args = argparser.parse_args(sys.argv[1:] if argv is None else argv)
    init_odoo(args.config)
    return args


def init_odoo(config):
    import odoo

    odoo.tools.config.parse_config(["-c", config, "--log-level=warn"])


@contextlib.contextmanager
def smtp_sink(**kwargs):
    """The real SMTP sink on loopback, started for the ``with`` block and then stopped.

    The test kit is imported as the top-level package ``peers`` (``mail_reliability/tests``
    on ``PYTHONPATH``), not through ``odoo.addons.mail_reliability.tests``: importing an
    addon's ``tests`` package outside a test run loads every test module.
    """
    from peers import smtp_sink as sink_module

    # One INFO line per delivery would cost the timed sections terminal output.
    logging.getLogger(sink_module.__name__).setLevel(logging.WARNING)
    with sink_module.SmtpSink(**kwargs) as sink:
        yield sink


def registry(dbname):
    from odoo.modules.registry import Registry

    return Registry(dbname)


@contextlib.contextmanager
def environment(dbname, uid=None, context=None):
    """A superuser (or ``uid``) environment on a new cursor, committed at the end of the block."""
    from odoo import api

    with registry(dbname).cursor() as cr:
        yield api.Environment(cr, api.SUPERUSER_ID if uid is None else uid, context or {})


def vacuum(dbname, tables):
    """``VACUUM ANALYZE`` the given tables that exist (outside any transaction, as VACUUM requires).

    Benchmarks call it before each timed section so that every variant starts from
    tables without dead rows, and autovacuum is less likely to wake up mid-measure.
    """
    import psycopg2
    from psycopg2 import sql

    from odoo.sql_db import connection_info_for

    _db, info = connection_info_for(dbname)
    connection = psycopg2.connect(**info)
    try:
        connection.autocommit = True
        with connection.cursor() as cr:
            for table in tables:
                cr.execute("SELECT to_regclass(%s)", [table])
                if cr.fetchone()[0]:  # tables of other variants' modules are skipped
                    cr.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(table)))
    finally:
        connection.close()


def timed_transaction(dbname, func):
    """Run ``func(env)`` in its own cursor, committed; return (result, seconds)."""
    start = time.perf_counter()
    with environment(dbname) as env:
        result = func(env)
    return result, time.perf_counter() - start


class QueueWorkers:
    """Processes that send ``dbname``'s email queue as the Email Queue Manager cron (and
    the lane jobs) would: ``reliability/worker.py --until-idle``, one per entry of
    ``threads`` with that many queue threads (lanes) each.

    Entering the ``with`` block starts them and waits until each has loaded Odoo;
    ``run()`` releases them all at once (a signal file in ``go_dir``) and waits for the
    sink; leaving the block kills any still running. Nothing is timed here: the caller
    reads the clock before ``run()``.
    """

    def __init__(self, config, dbname, threads, go_dir, deadline):
        self.go = pathlib.Path(go_dir) / f"go-{time.monotonic_ns()}"
        self.command = [
            sys.executable,
            str(WORKER),
            "--config",
            config,
            "--db",
            dbname,
            "--go",
            str(self.go),
            "--until-idle",
            "--deadline",
            str(deadline),
        ]
        self.threads = threads
        self.deadline = deadline
        self.processes = []

    def __enter__(self):
        for count in self.threads:
            self.processes.append(
                subprocess.Popen(
                    [*self.command, "--threads", str(count)],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    text=True,
                )
            )
        try:
            for process in self.processes:
                if process.stdout.readline().strip() != "ready":
                    raise SystemExit("a queue worker did not start")
        except BaseException:
            self.__exit__()
            raise
        return self

    def run(self, sink, count):
        """Release the workers; return (``time.perf_counter()`` once the sink has accepted
        ``count`` mails or every worker has ended, each worker's final figures: ``sent``,
        ``skipped`` (mails another lane held), ...)."""
        self.go.touch()
        while len(sink.deliveries) < count:
            if all(process.poll() is not None for process in self.processes):
                break
            time.sleep(0.005)
        finished = time.perf_counter()
        outputs = [process.communicate(timeout=self.deadline)[0] for process in self.processes]
        return finished, [json.loads(out.strip().splitlines()[-1]) for out in outputs]

    def __exit__(self, *_exc_info):
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()


def load_average():
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None


def machine_info():
    return {
        "nproc": os.cpu_count(),
        "load_average": load_average(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def _git_commit(path):
    try:
        out = subprocess.run(
            ["git", "-C", str(path), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() or None


def odoo_source_info():
    """Where the Odoo source is, its version, and its git commit or a content fingerprint."""
    import odoo

    root = pathlib.Path(odoo.__file__).resolve().parent.parent
    info = {
        "path": str(root),
        "version": odoo.release.version,
        "commit": os.environ.get("ODOO_COMMIT") or _git_commit(root),
    }
    digest = hashlib.sha256()
    for relative in ODOO_FINGERPRINT_FILES:
        path = root / relative
        if path.is_file():
            digest.update(relative.encode())
            digest.update(path.read_bytes())
    info["fingerprint"] = digest.hexdigest()[:16]
    return info


def postgres_version(dbname):
    try:
        with environment(dbname) as env:
            env.cr.execute("SHOW server_version")
            return env.cr.fetchone()[0]
    except Exception:
        return None


class Run:
    """Metadata of one bench run: start time and load, written along with the figures."""

    def __init__(self, name, args):
        self.name = name
        self.args = args
        self.started = datetime.datetime.now(datetime.timezone.utc)
        self.load_start = load_average()
        self.clock = time.perf_counter()

    def meta(self):
        info = machine_info()
        info.pop("load_average")
        return {
            "bench": self.name,
            "started": self.started.isoformat(timespec="seconds"),
            "duration_seconds": round(time.perf_counter() - self.clock, 1),
            "load_average_start": self.load_start,
            "load_average_end": load_average(),
            "machine": info,
            "odoo": odoo_source_info(),
            "postgres": postgres_version(self.args.stock_db),
            "databases": {"stock": self.args.stock_db, "ours": self.args.ours_db},
            "options": {
                key: value
                for key, value in vars(self.args).items()
                if key not in ("config", "json", "stock_db", "ours_db")
            },
            "quick": os.environ.get("MR_BENCH_QUICK") == "1",
        }

    def write(self, report):
        """Write ``report`` plus the run's metadata (key ``meta``) to ``--json``, if given."""
        if not self.args.json:
            return
        path = pathlib.Path(self.args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8") as fh:
            json.dump({**report, "meta": self.meta()}, fh, indent=2)
            fh.write("\n")

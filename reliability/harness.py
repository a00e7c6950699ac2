# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Reliability under faults: real Odoo processes, real PostgreSQL, the real SMTP sink.

Run through ``bin/test-reliability`` (it creates the database and installs the
addons).  This driver:

* runs the aiosmtpd sink of the test kit (``peers.smtp_sink``, in
  ``mail_reliability/tests/peers/``) in a thread
  on an ephemeral loopback port, and counts every message it accepts by the
  per-mail token in its subject (``[rel:<scenario>-<n>]``), so that losses and
  duplicates are counted exactly;
* queues mails through the ORM (``odoo.modules.registry.Registry``);
* works the queue with separate Odoo processes (``reliability/worker.py``,
  which calls ``mail.mail.process_email_queue()`` in a loop, as the queue cron
  does), and kills, restarts and races them.

Scenarios (each bounded in mails and seconds, loopback only):

``smtp-down``    the sink goes down after K of N mails and comes back later;
                 the retry schedule is followed (clock moved by the delays)
``crash``        ``kill -9`` of the process sending the queue, several times; the
                 daily-limit ledger still counts what the sink accepted
``concurrent``   2 processes work the same queue of 1,000 mails
``quota``        2 processes at the daily limit edge (limit 50, 200 mails)
``lanes``        2 queue lanes in 2 processes, 1,000 mails, one process killed
                 mid-batch; the other takes over its expired claim

One line per scenario, then ``N passed, N failed``; exit status 1 on failure.
"""

import argparse
import asyncio
import collections
import contextlib
import dataclasses
import json
import logging
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta

# The test kit, imported by name: bin/test-reliability puts mail_reliability/tests on
# PYTHONPATH (importing it through odoo.addons.mail_reliability.tests would load every test).
from peers import smtp_sink

import odoo
from odoo import api, fields
from odoo.modules.registry import Registry

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "worker.py")
TOKEN_RE = re.compile(r"\[rel:([a-z0-9]+-\d+)\]")
SCENARIOS = ("smtp-down", "crash", "concurrent", "quota", "lanes")


def token_of(subject):
    found = TOKEN_RE.search(subject or "")
    return found.group(1) if found else None


class HarnessHandler(smtp_sink._Handler):
    async def handle_DATA(self, server, session, envelope):
        reply = await super().handle_DATA(server, session, envelope)
        sink = self.sink
        if reply.startswith("250"):
            token = sink.last_token  # recorded by super() just now (no await in between)
            with sink.changed:
                # The last mail of each open session: a client killed now may not have
                # committed it (with several clients, last_token may be another's).
                sink.open_sessions[session] = token
        if sink.reply_delay and reply.startswith("250"):
            # The message is accepted (recorded) but the client has no 250 yet: the
            # window in which a crash of the client makes a duplicate unavoidable.
            with sink.changed:
                sink.unanswered.add(token)
                sink.changed.notify_all()
            try:
                await asyncio.sleep(sink.reply_delay)
            finally:
                with sink.changed:
                    sink.unanswered.discard(token)
        return reply

    async def handle_QUIT(self, server, session, envelope):
        with self.sink.changed:  # closed cleanly: its last mail was answered
            self.sink.open_sessions.pop(session, None)
        return "221 Bye"


class HarnessSink(smtp_sink.SmtpSink):
    """The project's sink, plus: goes down after K mails, slow replies, token counts."""

    handler_class = HarnessHandler

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.changed = threading.Condition()
        self.tokens = collections.Counter()
        self.last_token = None
        self.unanswered = set()
        self.open_sessions = {}  # {session: token of its last accepted mail}
        self.reply_delay = 0.0
        self.down_after = None
        self.down = False
        self._stopper = None

    def clear(self):
        self.reset()
        with self.changed:
            self.tokens.clear()
            self.last_token = None
            self.unanswered.clear()
            self.open_sessions.clear()
            self.reply_delay = 0.0
            self.down_after = None
            self.down = False

    def accepted(self, prefix):
        with self.changed:
            return sum(n for t, n in self.tokens.items() if t.startswith(prefix + "-"))

    def counts(self, prefix):
        with self.changed:
            return {t: n for t, n in self.tokens.items() if t.startswith(prefix + "-")}

    def wait_for(self, predicate, timeout):
        with self.changed:
            if not self.changed.wait_for(lambda: predicate(self), timeout):
                raise ScenarioError(f"sink: condition not met within {timeout:.0f} s")

    def come_back(self):
        if self._stopper is not None:
            self._stopper.join()
            self._stopper = None
        with self.changed:
            self.down = False
            self.down_after = None
        self.accept_connections()

    # -- sink hooks ---------------------------------------------------------
    def _fault(self, stage, sender, recipient):
        if self.down:
            return smtp_sink.DROP  # going down: every session is cut
        return super()._fault(stage, sender, recipient)

    def _record(self, delivery):
        super()._record(delivery)
        token = token_of(delivery.subject)
        with self.changed:
            self.tokens[token] += 1
            self.last_token = token
            if self.down_after and not self.down and len(self.deliveries) >= self.down_after:
                self.down = True
                # Stopping the controller joins the loop thread we are running in.
                self._stopper = threading.Thread(target=self.refuse_connections, daemon=True)
                self._stopper.start()
            self.changed.notify_all()


class ScenarioError(AssertionError):
    pass


@dataclasses.dataclass
class Result:
    name: str
    passed: bool
    figures: str
    problems: list
    seconds: float


class Harness:
    def __init__(self, config, db, log_dir, seed, kills=4):
        self.kills = kills
        self.config = config
        self.db = db
        self.log_dir = log_dir
        self.random = random.Random(seed)
        self.seed = seed
        self.registry = Registry(db)
        self.sink = HarnessSink().start()
        self.procs = []
        self.check = []
        self._setup()

    # -- database -------------------------------------------------------------
    @contextlib.contextmanager
    def env(self):
        with self.registry.cursor() as cr:
            yield api.Environment(cr, api.SUPERUSER_ID, {})

    def _setup(self):
        with self.env() as env:
            env["ir.mail_server"].search([]).action_archive()
            env["ir.mail_server"].create(
                {
                    "name": "Reliability SMTP sink",
                    "smtp_host": self.sink.host,
                    "smtp_port": self.sink.port,
                    "smtp_encryption": "none",
                    "sequence": 0,
                }
            )
            env["ir.config_parameter"].set_param("mail.catchall.domain", "example.com")

    def reset(self, **params):
        """Quiet queue, empty ledger, fresh sink, the scenario's settings."""
        self.sink.clear()
        if not self.sink.running:
            self.sink.come_back()
        settings = {
            "mail_reliability.daily_limit": "0",
            "mail_reliability.retry_delays": False,
            "mail_reliability.retry_max_hours": False,
            "mail_reliability.queue_lanes": False,
            "mail_reliability.queue_lane_claim_seconds": False,
            **params,
        }
        with self.env() as env:
            env.cr.execute(
                "UPDATE mail_mail SET state = 'cancel' WHERE state IN ('outgoing', 'exception')"
            )
            env.cr.execute("DELETE FROM mail_quota_usage")
            for key, value in settings.items():
                env["ir.config_parameter"].set_param(key, value)

    def queue(self, prefix, count, auto_delete=lambda n: False, partner_every=0):
        """Create ``count`` outgoing mails through the ORM; returns {token: mail id}."""
        with self.env() as env:
            partners = env["res.partner"]
            if partner_every:
                partners = env["res.partner"].create(
                    [
                        {"name": f"{prefix} partner {n}", "email": f"{prefix}-p{n:04d}@example.com"}
                        for n in range(0, count, partner_every)
                    ]
                )
            values = []
            for n in range(count):
                token = f"{prefix}-{n:04d}"
                vals = {
                    "subject": f"Reliability {prefix} [rel:{token}]",
                    "body_html": f"<p>Reliability scenario {prefix}, mail {n}.</p>",
                    "email_from": "reliability@example.com",
                    "auto_delete": auto_delete(n),
                }
                if partner_every and n % partner_every == 0:
                    vals["recipient_ids"] = [(6, 0, partners[n // partner_every].ids)]
                else:
                    vals["email_to"] = f"{token}@example.com"
                values.append(vals)
            mails = env["mail.mail"].create(values)
            return {f"{prefix}-{n:04d}": mail.id for n, mail in enumerate(mails)}

    def rows(self, ids):
        with self.env() as env:
            env.cr.execute(
                """SELECT id, state, failure_type, smtp_status, retry_count, scheduled_date
                     FROM mail_mail WHERE id = ANY(%s)""",
                [list(ids)],
            )
            return env.cr.dictfetchall()

    def tally(self, ids):
        rows = self.rows(ids)
        states = collections.Counter(row["state"] for row in rows)
        states["deleted"] = len(ids) - len(rows)
        return states, rows

    def due(self, ids):
        now = fields.Datetime.now()
        return [
            r
            for r in self.rows(ids)
            if r["state"] == "outgoing" and (not r["scheduled_date"] or r["scheduled_date"] <= now)
        ]

    def move_clock(self, ids, seconds):
        """As a later cron run sees it: the deferred mails' schedule is ``seconds`` older."""
        with self.env() as env:
            env.cr.execute(
                """UPDATE mail_mail
                      SET scheduled_date = scheduled_date - %s,
                          first_attempt_date = first_attempt_date - %s
                    WHERE id = ANY(%s) AND state = 'outgoing' AND scheduled_date IS NOT NULL""",
                [timedelta(seconds=seconds), timedelta(seconds=seconds), list(ids)],
            )

    def ledger_used(self):
        with self.env() as env:
            env.cr.execute(
                "SELECT COALESCE(SUM(used), 0) FROM mail_quota_usage WHERE scope = 'database'"
            )
            return env.cr.fetchone()[0]

    def leases_left(self):
        """Daily-limit leases still in the ledger (each held by a batch, or left by a dead one)."""
        with self.env() as env:
            env.cr.execute("SELECT COUNT(*) FROM mail_quota_lease")
            return env.cr.fetchone()[0]

    # -- workers --------------------------------------------------------------
    def spawn(self, name, *args):
        log = open(os.path.join(self.log_dir, f"worker-{name}.log"), "w")
        env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(odoo.__file__)))
        proc = subprocess.Popen(
            [sys.executable, WORKER, "--config", self.config, "--db", self.db, *args],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env=env,
        )
        log.close()
        proc.mr_name = name
        self.procs.append(proc)
        return proc

    def finish(self, proc, timeout):
        try:
            out, _err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise ScenarioError(
                f"worker {proc.mr_name} did not finish within {timeout:.0f} s"
            ) from None
        lines = [line for line in out.splitlines() if line.startswith("{")]
        if proc.returncode != 0 or not lines:
            raise ScenarioError(
                f"worker {proc.mr_name} exited with {proc.returncode} "
                f"(log: {self.log_dir}/worker-{proc.mr_name}.log)"
            )
        return json.loads(lines[-1])

    def start_together(self, names, *args):
        """Start workers that begin sending at the same moment."""
        go = os.path.join(self.log_dir, f"go-{'-'.join(names)}")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(go)
        procs = [self.spawn(name, "--go", go, *args) for name in names]
        for proc in procs:
            line = proc.stdout.readline().strip()
            if line != "ready":
                raise ScenarioError(f"worker {proc.mr_name} did not start ({line!r})")
        open(go, "w").close()
        return procs

    def stop_all(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.procs = []

    # -- checks -----------------------------------------------------------------
    def expect(self, condition, message):
        if not condition:
            self.check.append(message)

    def wait_until(self, predicate, timeout, what, interval=0.2):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            for proc in self.procs:
                if proc.poll() not in (None, 0, -signal.SIGKILL, -signal.SIGTERM):
                    raise ScenarioError(f"worker {proc.mr_name} died with {proc.returncode}")
            time.sleep(interval)
        raise ScenarioError(f"timed out after {timeout:.0f} s waiting for {what}")

    def delivery_figures(self, tokens, prefix):
        counts = self.sink.counts(prefix)
        unexpected = set(counts) - set(tokens)
        lost = [t for t in tokens if not counts.get(t)]
        duplicates = {t: n - 1 for t, n in counts.items() if n > 1}
        self.expect(
            not unexpected, f"the sink got mails that were never queued: {sorted(unexpected)[:5]}"
        )
        return lost, duplicates

    # -- scenarios --------------------------------------------------------------
    def scenario_smtp_down(self, total=40, down_after=15):
        """The SMTP server goes away after K of N mails, stays down for two retry
        rounds, then comes back: everything is delivered exactly once."""
        delays = (1, 2)  # minutes: the clock is moved by these instead of waiting
        self.reset(**{"mail_reliability.retry_delays": ",".join(map(str, delays))})
        tokens = self.queue("down", total)
        ids = list(tokens.values())
        self.sink.down_after = down_after
        worker = self.spawn("smtp-down")

        def settled(rounds):
            states, rows = self.tally(ids)
            deferred = [r for r in rows if r["state"] == "outgoing"]
            return (
                self.sink.down
                and not self.due(ids)
                and len(deferred) == total - down_after
                and all(r["retry_count"] >= rounds for r in deferred)
            )

        # 1. The server goes away mid-batch: the rest is deferred, not failed.
        self.wait_until(lambda: settled(1), 60, "the batch to be deferred after the outage")
        states, rows = self.tally(ids)
        delivered_before = self.sink.accepted("down")
        self.expect(
            delivered_before == down_after,
            f"{delivered_before} delivered before the outage, expected {down_after}",
        )
        self.expect(
            states["exception"] == 0, f"{states['exception']} mails failed during the outage"
        )
        deferred = [r for r in rows if r["state"] == "outgoing"]
        kinds = collections.Counter(r["failure_type"] for r in deferred)
        now = fields.Datetime.now()
        waits = [(r["scheduled_date"] - now).total_seconds() for r in deferred]
        self.expect(
            all(0 < w <= delays[0] * 60 for w in waits),
            f"first retry not within {delays[0]} min: {min(waits):.0f}..{max(waits):.0f} s",
        )
        # 2. The first delay passes, the server is still down: deferred again, longer.
        self.move_clock(ids, delays[0] * 60)
        self.wait_until(lambda: settled(2), 60, "the second deferral")
        now = fields.Datetime.now()
        waits = [
            (r["scheduled_date"] - now).total_seconds()
            for r in self.rows(ids)
            if r["state"] == "outgoing"
        ]
        self.expect(
            all(delays[0] * 60 < w <= delays[1] * 60 for w in waits),
            f"second retry not after {delays[1]} min: {min(waits):.0f}..{max(waits):.0f} s",
        )
        # 3. The server is back, the next attempt is not due yet: nothing is sent early.
        self.sink.come_back()
        time.sleep(2)
        early = self.sink.accepted("down") - delivered_before
        self.expect(early == 0, f"{early} deferred mails sent before their next attempt")
        # 4. The second delay passes: the queue drains.
        self.move_clock(ids, delays[1] * 60)
        self.wait_until(lambda: self.tally(ids)[0]["sent"] == total, 90, "all mails sent")
        worker.terminate()
        stats = self.finish(worker, 30)
        states, _rows = self.tally(ids)
        lost, duplicates = self.delivery_figures(tokens, "down")
        self.expect(not lost, f"{len(lost)} lost: {lost[:5]}")
        self.expect(not duplicates, f"{sum(duplicates.values())} duplicates: {duplicates}")
        self.expect(states["exception"] == 0 and states["outgoing"] == 0, f"states {dict(states)}")
        return (
            f"{total} mails, sink down after {down_after}, {total - down_after} deferred "
            f"({', '.join(f'{k}' for k in sorted(kinds, key=str))}), 2 retry rounds "
            f"({delays[0]} then {delays[1]} min, clock moved), {stats['rounds']} queue runs: "
            f"{len(tokens) - len(lost)} delivered, {len(lost)} lost, "
            f"{sum(duplicates.values())} duplicates, {states['exception']} exception"
        )

    def scenario_crash(self, total=40, reply_delay=0.12):
        """kill -9 of the sending process, ``kills`` times: all delivered, duplicates
        only for the one mail in flight at each kill, and no quota lost: with a daily
        limit that holds nothing back (each killed worker held a lease of units for
        its whole batch), the ledger counts what the sink accepted, plus at most 1 per
        kill, and no lease is left."""
        kills = self.kills
        total = max(total, 6 * kills + 10)
        self.reset(**{"mail_reliability.daily_limit": "10000"})
        tokens = self.queue("crash", total)
        ids = list(tokens.values())
        self.sink.reply_delay = reply_delay
        snapshots = []
        for number in range(kills):
            worker = self.spawn(f"crash-{number}")
            start = self.sink.accepted("crash")
            if number == 0:
                # Worst case on purpose: the 6th mail accepted, its 250 not yet received.
                self.sink.wait_for(
                    lambda s, start=start: s.unanswered and s.accepted("crash") >= start + 6, 60
                )
            else:
                # Anywhere in the send loop: after a few mails, at a random instant.
                self.sink.wait_for(lambda s, start=start: s.accepted("crash") >= start + 5, 60)
                time.sleep(self.random.uniform(0, 2 * reply_delay))
            with self.sink.changed:
                in_flight = set(self.sink.unanswered) | {self.sink.last_token}
                accepted = self.sink.accepted("crash")
            worker.kill()
            worker.wait()
            # A message fully written before the kill may still be read by the sink
            # after it: it was in flight too.
            time.sleep(0.2)
            with self.sink.changed:
                in_flight |= {self.sink.last_token}
            snapshots.append({"in_flight": in_flight, "accepted": accepted})
        final = self.spawn("crash-final", "--until-idle")
        self.finish(final, 120)
        states, _rows = self.tally(ids)
        lost, duplicates = self.delivery_figures(tokens, "crash")
        self.expect(not lost, f"{len(lost)} lost after restart: {lost[:5]}")
        allowed = collections.Counter()
        for snap in snapshots:
            allowed.update(snap["in_flight"])
        beyond = {t: n for t, n in duplicates.items() if n > allowed[t]}
        self.expect(not beyond, f"duplicates not in flight at a kill: {beyond}")
        self.expect(
            sum(duplicates.values()) <= kills,
            f"{sum(duplicates.values())} duplicates for {kills} kills",
        )
        self.expect(states["sent"] == total, f"states {dict(states)}")
        ledger = self.ledger_used()
        delivered = sum(self.sink.counts("crash").values())
        # Each kill may leave the one email in flight counted (the sink may or may not
        # have accepted it); the ledger never counts less than the sink accepted.
        self.expect(
            delivered <= ledger <= delivered + kills,
            f"quota ledger {ledger} for {delivered} accepted by the sink: "
            f"not within 0..{kills} (1 per kill) above it",
        )
        leases = self.leases_left()
        self.expect(not leases, f"{leases} daily-limit lease(s) left after the queue drained")
        kill_points = ", ".join(str(s["accepted"]) for s in snapshots)
        where = "each the mail in flight at a kill" if duplicates and not beyond else "-"
        return (
            f"{total} mails, {kills} x kill -9 mid-batch (after {kill_points} accepted; "
            f"reply delay {reply_delay * 1000:.0f} ms), restart: "
            f"{total - len(lost)} delivered, {len(lost)} lost, {sum(duplicates.values())} "
            f"duplicate(s) for {kills} kills ({', '.join(sorted(duplicates)) or 'none'}; {where}); "
            f"quota ledger {ledger} units for {delivered} accepted by the sink, "
            f"{leases} lease(s) left"
        )

    def scenario_concurrent(self, total=1000):
        """2 processes work one queue of 1,000 mails: none twice, none lost."""
        self.reset()
        tokens = self.queue("conc", total, auto_delete=lambda n: n % 2 == 1, partner_every=4)
        ids = list(tokens.values())
        kept = [i for n, i in enumerate(ids) if n % 2 == 0]
        started = time.monotonic()
        # Generous bounds: a loaded CI machine sends this in minutes, not seconds.
        workers = self.start_together(["conc-a", "conc-b"], "--until-idle", "--deadline", "600")
        stats = [self.finish(w, 620) for w in workers]
        elapsed = time.monotonic() - started
        states, rows = self.tally(ids)
        lost, duplicates = self.delivery_figures(tokens, "conc")
        self.expect(not lost, f"{len(lost)} lost: {lost[:5]}")
        self.expect(
            not duplicates, f"{sum(duplicates.values())} duplicates: {list(duplicates)[:5]}"
        )
        self.expect(states["outgoing"] == 0 and states["exception"] == 0, f"states {dict(states)}")
        kept_sent = sum(1 for r in rows if r["id"] in set(kept) and r["state"] == "sent")
        self.expect(kept_sent == len(kept), f"{kept_sent} of {len(kept)} kept mails marked sent")
        self.expect(
            sum(s["sent"] for s in stats) == total,
            f"workers report {[s['sent'] for s in stats]} sent for {total}",
        )
        self.expect(all(s["sent"] for s in stats), "one worker sent nothing: no concurrency tested")
        return (
            f"{total} mails ({total // 4} to partners, {total // 2} auto-deleted), 2 processes: "
            f"sent {stats[0]['sent']} + {stats[1]['sent']}, "
            f"{stats[0]['skipped'] + stats[1]['skipped']} lock skips, "
            f"{total - len(lost)} delivered, {len(lost)} lost, "
            f"{sum(duplicates.values())} duplicates in {elapsed:.0f} s"
        )

    def scenario_quota(self, total=200, limit=50):
        """2 processes at the daily limit edge: exactly the limit, the rest held back."""
        self.reset(**{"mail_reliability.daily_limit": str(limit)})
        tokens = self.queue("quota", total)
        ids = list(tokens.values())
        workers = self.start_together(["quota-a", "quota-b"], "--until-idle")
        stats = [self.finish(w, 320) for w in workers]
        states, rows = self.tally(ids)
        lost, duplicates = self.delivery_figures(tokens, "quota")
        accepted = self.sink.accepted("quota")
        held = [r for r in rows if r["state"] == "exception"]
        self.expect(accepted == limit, f"sink accepted {accepted}, limit {limit}")
        self.expect(not duplicates, f"duplicates: {duplicates}")
        self.expect(states["sent"] == limit, f"{states['sent']} sent")
        self.expect(
            len(held) == total - limit and all(r["failure_type"] == "mail_quota" for r in held),
            f"held back: {collections.Counter(r['failure_type'] for r in held)}",
        )
        self.expect(states["outgoing"] == 0, f"{states['outgoing']} still outgoing")
        ledger = self.ledger_used()
        self.expect(ledger == limit, f"ledger counts {ledger}")
        return (
            f"limit {limit}, {total} mails, 2 processes "
            f"(sent {stats[0]['sent']} + {stats[1]['sent']}): "
            f"{accepted} accepted by the sink, overshoot {max(accepted - limit, 0)}, "
            f"{len(held)} exception/mail_quota, ledger {ledger}"
        )

    def scenario_lanes(self, total=1000, reply_delay=0.03, claim_seconds=60):
        """2 queue lanes in 2 processes, 1,000 mails; one process is killed (``kill -9``)
        mid-batch: the other takes over its claim once it expires. 0 lost, at most 1
        duplicate (the mail in flight at the kill), quota ledger exact within 1."""
        self.reset(
            **{
                "mail_reliability.queue_lanes": "2",
                "mail_reliability.queue_lane_claim_seconds": str(claim_seconds),
                "mail_reliability.daily_limit": "100000",
            }
        )
        tokens = self.queue("lanes", total)
        ids = list(tokens.values())
        self.sink.reply_delay = reply_delay
        started = time.monotonic()
        victim, survivor = self.start_together(
            ["lanes-killed", "lanes-survivor"], "--until-idle", "--deadline", "600"
        )
        kill_at = total // 3
        self.sink.wait_for(lambda s: s.unanswered and s.accepted("lanes") >= kill_at, 300)
        # In flight at the kill: the victim's last mail, unanswered or answered but not yet
        # committed, is the last of one of the open sessions (two lanes: one each).
        with self.sink.changed:
            in_flight = set(self.sink.unanswered) | set(self.sink.open_sessions.values())
            accepted = self.sink.accepted("lanes")
        victim.kill()
        victim.wait()
        time.sleep(0.2)  # a message written before the kill may be read after it
        with self.sink.changed:
            in_flight |= set(self.sink.open_sessions.values())
        with self.env() as env:
            env.cr.execute(
                """SELECT count(*) FROM mail_mail WHERE id = ANY(%s) AND state = 'outgoing'
                      AND mr_queue_claim_until > now() AT TIME ZONE 'UTC'""",
                [ids],
            )
            held = env.cr.fetchone()[0]
        stats = self.finish(survivor, 620)
        elapsed = time.monotonic() - started
        states, _rows = self.tally(ids)
        lost, duplicates = self.delivery_figures(tokens, "lanes")
        self.expect(not lost, f"{len(lost)} lost: {lost[:5]}")
        beyond = {t: n for t, n in duplicates.items() if t not in in_flight}
        self.expect(not beyond, f"duplicates not in flight at the kill: {beyond}")
        self.expect(sum(duplicates.values()) <= 1, f"{sum(duplicates.values())} duplicates")
        self.expect(states["sent"] == total, f"states {dict(states)}")
        self.expect(
            0 < stats["sent"] < total,
            f"the survivor sent {stats['sent']} of {total}: the killed lane sent nothing?",
        )
        ledger = self.ledger_used()
        delivered = sum(self.sink.counts("lanes").values())
        self.expect(
            delivered <= ledger <= delivered + 1,
            f"quota ledger {ledger} for {delivered} accepted by the sink: not within 0..1 above",
        )
        leases = self.leases_left()
        self.expect(not leases, f"{leases} daily-limit lease(s) left after the queue drained")
        with self.env() as env:
            env.cr.execute(
                """SELECT count(*) FROM mail_mail
                    WHERE id = ANY(%s) AND state = 'outgoing'
                      AND mr_queue_claim_until IS NOT NULL""",
                [ids],
            )
            claims_left = env.cr.fetchone()[0]
        self.expect(not claims_left, f"{claims_left} outgoing mails still claimed")
        return (
            f"{total} mails, 2 lanes in 2 processes, kill -9 of one after {accepted} accepted "
            f"(it held {held} claimed mails; claim timeout {claim_seconds} s): survivor sent "
            f"{stats['sent']} with {stats['skipped']} lock skips, {total - len(lost)} delivered, "
            f"{len(lost)} lost, {sum(duplicates.values())} duplicate(s) "
            f"({', '.join(sorted(duplicates)) or 'none'}); quota ledger {ledger} units for "
            f"{delivered} accepted, {leases} lease(s) left, in {elapsed:.0f} s"
        )

    def run(self, name):
        self.check = []
        started = time.monotonic()
        method = getattr(self, "scenario_" + name.replace("-", "_"))
        try:
            figures = method()
        except ScenarioError as exc:
            figures, self.check = "", [*self.check, str(exc)]
        except Exception as exc:  # any error is this scenario's failure
            figures, self.check = "", [*self.check, f"{type(exc).__name__}: {exc}"]
        finally:
            self.stop_all()
        return Result(name, not self.check, figures, self.check, time.monotonic() - started)

    def close(self):
        self.stop_all()
        self.sink.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True, help="Odoo configuration file")
    parser.add_argument("--db", required=True, help="database with both addons installed")
    parser.add_argument("--log-dir", help="worker logs (default: a temporary directory)")
    parser.add_argument("--seed", type=int, default=int(os.environ.get("MR_REL_SEED", "10")))
    parser.add_argument(
        "--kills",
        type=int,
        default=int(os.environ.get("MR_REL_KILLS", "4")),
        help="kill -9 count of the crash scenario (4; more for a measurement)",
    )
    parser.add_argument(
        "scenarios", nargs="*", help=f"some of {', '.join(SCENARIOS)} (default: all)"
    )
    args = parser.parse_args(argv)
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(
            f"unknown scenario(s) {', '.join(sorted(unknown))}; known: {', '.join(SCENARIOS)}"
        )
    odoo.tools.config.parse_config(
        ["-c", args.config, "-d", args.db, "--log-level=warn", "--max-cron-threads=0"]
    )
    logging.getLogger(smtp_sink.__name__).setLevel(logging.WARNING)  # one line per accepted mail
    log_dir = args.log_dir or tempfile.mkdtemp(prefix="mr-reliability-")
    os.makedirs(log_dir, exist_ok=True)
    try:
        if args.kills < 1:
            raise ValueError(f"--kills must be at least 1, not {args.kills}")
        harness = Harness(args.config, args.db, log_dir, args.seed, kills=args.kills)
    except Exception as exc:  # a set-up failure is a failed run, said plainly
        print(f"FAIL set-up: {type(exc).__name__}: {exc}", flush=True)
        print("0 passed, 1 failed", flush=True)
        return 1
    results = []
    try:
        for name in args.scenarios or SCENARIOS:
            result = harness.run(name)
            results.append(result)
            status = "PASS" if result.passed else "FAIL"
            line = f"{status} {name}: {result.figures or '-'} ({result.seconds:.0f} s)"
            print(line, flush=True)
            for problem in result.problems:
                print(f"    {problem}", flush=True)
    finally:
        harness.close()
    passed = sum(r.passed for r in results)
    failed = len(results) - passed
    print(f"reliability: seed {args.seed}, worker logs in {log_dir}", flush=True)
    print(f"{passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

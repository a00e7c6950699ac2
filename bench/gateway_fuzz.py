"""Incoming gateway under fuzz: time per mail, by mutation, and the 25 MB attachment.

The mutants of the gateway fuzz test (``mail_reliability/tests/fuzz_corpus.py``:
real bounces and mails, truncated, flipped, NULs and lone surrogates in headers,
mis-declared charsets, hundreds of ``Received`` headers, 20 kB header lines,
header-only, ``message/rfc822`` nested 50 deep) go one by one through
``mail.thread.message_process`` on a database with ``mail_reliability``
installed, each in its own transaction, rolled back (the database is left as it
was).  An exception escaping the gateway is counted and named, not hidden.

    ~/.cache/mail_reliability/venv-311/bin/python bench/gateway_fuzz.py \\
        --config ~/.cache/mail_reliability/test-<db>.conf --db <db> [--mutants 300] [--seed 1]

Prints the figures (median / p95 / max seconds per mail, overall and per
mutation) and writes them as JSON with ``--json``.
"""

import argparse
import json
import logging
import random
import statistics
import sys
import time

import _common


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def summary(values):
    return {
        "mails": len(values),
        "median_s": round(statistics.median(values), 4) if values else 0.0,
        "p95_s": round(percentile(values, 0.95), 4),
        "max_s": round(max(values), 4) if values else 0.0,
    }


def process(dbname, message):
    """Seconds for one message_process call, and the exception that escaped (or None)."""
    from odoo import api

    with _common.registry(dbname).cursor() as cr:
        env = api.Environment(cr, api.SUPERUSER_ID, {})
        start = time.perf_counter()
        try:
            env["mail.thread"].message_process(None, message)
            escaped = None
        except Exception as exc:
            escaped = f"{exc.__class__.__name__}: {exc}"[:200]
        seconds = time.perf_counter() - start
        cr.execute("SELECT 1")
        cr.rollback()
    return seconds, escaped


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True, help="Odoo configuration file")
    parser.add_argument("--db", required=True, help="database with mail_reliability installed")
    parser.add_argument("--mutants", type=int, default=300)
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--no-big", action="store_true", help="skip the 25 MB attachment")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    _common.init_odoo(args.config)
    logging.getLogger("odoo").setLevel(logging.CRITICAL)
    logging.getLogger("flufl.bounce").setLevel(logging.CRITICAL)
    # Shared with the tests; mail_reliability/tests on PYTHONPATH (bin/_bench_lib.sh).
    import fuzz_corpus as corpus_module

    corpus = corpus_module.load_corpus()
    load_start = _common.load_average()
    started = time.perf_counter()
    times, by_mutation, escaped = [], {}, []
    for label, message in corpus_module.mutants(corpus, args.seed, args.mutants):
        seconds, error = process(args.db, message)
        times.append(seconds)
        for name in set(label.split("#")[0].split("+")[1:]):
            by_mutation.setdefault(name, []).append(seconds)
        if error:
            escaped.append((label, error))
    result = {
        "bench": "gateway_fuzz",
        "command": f"bench/gateway_fuzz.py --mutants {args.mutants} --seed {args.seed}",
        "corpus_mails": len(corpus),
        "all": summary(times),
        "by_mutation": {name: summary(values) for name, values in sorted(by_mutation.items())},
        "escaped": escaped,
    }
    if not args.no_big:
        big = corpus_module.big_attachment(b"", random.Random(args.seed))
        seconds, error = process(args.db, big)
        result["attachment_25mb"] = {"bytes": len(big), "seconds": round(seconds, 2)}
        if error:
            escaped.append(("25 MB attachment", error))
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["machine"] = _common.machine_info()
    result["load_average"] = {"start": load_start, "end": _common.load_average()}
    print(json.dumps(result, indent=2))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(result, handle, indent=2)
    return 1 if escaped else 0


if __name__ == "__main__":
    sys.exit(main())

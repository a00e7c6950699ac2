"""Render ``bench/RESULTS.md`` from the JSON files the benchmarks write in ``bench/results/``.

    python3 bench/report.py start [--quick]   # bin/bench-all: record the run's start
    python3 bench/report.py render            # write bench/RESULTS.md from bench/results/

Needs only the standard library (no Odoo). The table at the top of RESULTS.md is
generated; everything from the ``## History`` heading on is kept as it is.
Each figure is compared with its target from the issues:
  * #3 queue throughput: ours (daily limit off) / stock >= 1.0;
  * #5 daily limit overhead: limit on / limit off >= 0.95;
  * #4 chatter: ours <= stock + 2 queries for 200 failed (and retrying) messages;
  * #6 campaign generation: ours / stock <= 1.1 seconds;
  * #7 vacuum: no transaction over 1 s (stock deletes none of these rows; its equivalent
    is deleting them the stock way, in one transaction);
  * #17 queue lanes: 2 lanes send the same queue >= 1.6x as fast as 1 lane, no mail twice;
  * #17 campaign from "Send" to the last mail accepted: ours (1 lane) at least as fast as
    stock (stock seconds / ours seconds >= 1.0).
"""

import argparse
import datetime
import json
import os
import pathlib
import re
import sys

BENCH_DIR = pathlib.Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
RESULTS_MD = BENCH_DIR / "RESULTS.md"
HISTORY_HEADING = "## History"
BENCHES = (
    "queue_throughput",
    "queue_lanes",
    "chatter_queries",
    "mailing_generation",
    "campaign_send",
    "vacuum",
)
# The sizes the issues set (bin/bench-all without --quick); a result below them is labelled.
FULL_SIZES = {
    "queue_throughput": ("mails_per_round", 200),
    "queue_lanes": ("mails", 2000),
    "chatter_queries": ("messages", 200),
    "mailing_generation": ("recipients", 10000),
    "campaign_send": ("recipients", 10000),
    "vacuum": ("rows", 100000),
}
COMMANDS = {
    "queue_throughput": "bin/bench",
    "queue_lanes": "bin/bench-lanes",
    "chatter_queries": "bin/bench-chatter",
    "mailing_generation": "bin/bench-mailing",
    "campaign_send": "bin/bench-campaign",
    "vacuum": "bin/bench-vacuum",
}


# --- small formatting helpers -----------------------------------------------------------------


def _num(value, digits=2):
    if value is None:
        return "—"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def _met(ok):
    if ok is None:
        return "—"
    return "yes" if ok else "**no**"


def _ratio(numerator, denominator):
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def _rounds(count):
    return f"{count} round" if count == 1 else f"{count} rounds"


def _when(stamp):
    """'2026-11-28T17:49:38+00:00' -> '2026-11-28 17:49 UTC'."""
    if not stamp:
        return "unknown"
    try:
        moment = datetime.datetime.fromisoformat(stamp).astimezone(datetime.timezone.utc)
    except ValueError:
        return stamp
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _load(values):
    return " / ".join(_num(v) for v in values) if values else "unknown"


def _lanes(count):
    return f"{count} lane" if count == 1 else f"{count} lanes"


def _sent_once(checks):
    """'duplicates 0, lost 0' over the sink checks of a bench's runs; and whether both are 0."""
    duplicates = sum(check["duplicates"] for check in checks)
    lost = sum(check["lost"] for check in checks)
    return f"duplicates {duplicates}, lost {lost}", not duplicates and not lost


# --- one row per figure -----------------------------------------------------------------------


def _row(figure, stock, ours, ratio, target, met):
    return {
        "figure": figure,
        "stock": stock,
        "ours": ours,
        "ratio": ratio,
        "target": target,
        "met": met,
    }


def _missing_rows(name, reason):
    return [_row(f"`{name}`: {reason}", "—", "—", "—", "—", "—")]


def queue_rows(data):
    mails, rounds = data["mails_per_round"], data["rounds"]
    rate = data["median_mails_per_second"]
    size = f"{_num(mails)} mails x {_rounds(rounds)}, median"
    # Newer runs give the median of per-round ratios (steadier under drifting load).
    ratio_off = data.get("ratio_quota_off_vs_stock") or _ratio(
        rate["ours_quota_off"], rate["stock"]
    )
    ratio_on = data.get("ratio_quota_on_vs_stock") or _ratio(rate["ours_quota_on"], rate["stock"])
    quota = data.get("ratio_quota_on_vs_quota_off") or _ratio(
        rate["ours_quota_on"], rate["ours_quota_off"]
    )
    return [
        _row(
            f"Queue throughput, mails/s, daily limit off ({size})",
            _num(rate["stock"], 1),
            _num(rate["ours_quota_off"], 1),
            _num(ratio_off),
            "ours/stock >= 1.0 (#3)",
            _met(ratio_off >= 1.0),
        ),
        _row(
            "Queue throughput, mails/s, daily limit on",
            _num(rate["stock"], 1),
            _num(rate["ours_quota_on"], 1),
            _num(ratio_on),
            "—",
            "—",
        ),
        _row(
            "Daily limit overhead: mails/s limit on vs limit off (baseline: ours, limit off)",
            f"{_num(rate['ours_quota_off'], 1)} (limit off)",
            _num(rate["ours_quota_on"], 1),
            _num(quota),
            "on/off >= 0.95 (#5)",
            _met(quota >= 0.95),
        ),
        _row(
            "Raw ceiling: plain smtplib on one session, mails/s (stock vs raw)",
            _num(rate["stock"], 1),
            f"{_num(rate['raw'], 1)} (raw)",
            _num(_ratio(rate["stock"], rate["raw"])),
            "—",
            "—",
        ),
    ]


def lanes_rows(data):
    base, *others = data["lanes"]
    rate, ratios = data["median_mails_per_second"], data["ratios_vs_one_lane"]
    rows = []
    for lanes in others:
        sent_once, clean = _sent_once(data["fifo_and_duplicates"][str(lanes)])
        ratio = ratios[str(lanes)]
        figure = f"Queue lanes, mails/s, {_lanes(lanes)} vs {_lanes(base)}"
        if not rows:
            size = f"{_num(data['mails'])} mails x {_rounds(data['rounds'])}"
            figure += f" ({size}, median)"
        target, met = "—", "—"
        if (base, lanes) == (1, 2):
            target, met = "2 lanes/1 lane >= 1.6, no mail twice (#17)", _met(ratio >= 1.6 and clean)
        rows.append(
            _row(
                f"{figure}; {sent_once}",
                f"{_num(rate[str(base)], 1)} ({_lanes(base)})",
                _num(rate[str(lanes)], 1),
                _num(ratio),
                target,
                met,
            )
        )
    return rows


def chatter_rows(data):
    rows = []
    for scenario, figures in data["scenarios"].items():
        stock, ours = figures["stock_queries"], figures["ours_queries"]
        rows.append(
            _row(
                f"Chatter fetch, SQL queries, {_num(data['messages'])} {scenario} messages",
                _num(stock),
                _num(ours),
                f"{ours - stock:+d} queries",
                "ours <= stock + 2 (#4)",
                _met(ours <= stock + 2),
            )
        )
    return rows


def mailing_rows(data):
    median = data["median_seconds"]
    ratio = _ratio(median["ours"], median["stock"])
    return [
        _row(
            "Campaign generation, seconds, "
            f"{_num(data['recipients'])} recipients ({_rounds(data['rounds'])}, median)",
            _num(median["stock"], 1),
            _num(median["ours"], 1),
            _num(ratio),
            "ours/stock <= 1.1 (#6)",
            _met(ratio <= 1.1),
        )
    ]


def campaign_rows(data):
    seconds, checks = data["median_seconds"], data["checks"]
    size = f"{_num(data['recipients'])} recipients x {_rounds(data['rounds'])}, median"
    rows = []
    for key, lanes, target, minimum in (
        ("ours_1_lane", 1, "stock s/ours s >= 1.0 (#17)", 1.0),
        ("ours_2_lanes", 2, "—", None),
    ):
        sent_once, clean = _sent_once(checks[key])
        ratio = data[f"ratio_{key}_vs_stock"]
        figure = f"Campaign from Send to the last mail accepted, s, ours with {_lanes(lanes)}"
        if not rows:
            figure += f" ({size}; ratio: speed, stock s / ours s)"
        rows.append(
            _row(
                f"{figure}; {sent_once}",
                _num(seconds["stock"], 1),
                _num(seconds[key], 1),
                _num(ratio),
                target,
                "—" if minimum is None else _met(ratio >= minimum and clean),
            )
        )
    return rows


def vacuum_rows(data):
    ours, stock = data["ours"], data["stock"]
    rows = f"{_num(data['rows'])} rows"
    longest = ours["longest_transaction_seconds"]
    return [
        _row(
            f"Vacuum, longest transaction, s ({rows}; stock: the same delete in one transaction)",
            _num(stock["single_transaction_seconds"]),
            _num(longest, 3),
            _num(_ratio(longest, stock["single_transaction_seconds"]), 3),
            "ours < 1 s (#7)",
            _met(longest < 1),
        ),
        _row(
            f"Vacuum, total time, s ({ours['transactions']} transactions)",
            _num(stock["single_transaction_seconds"]),
            _num(ours["total_seconds"]),
            _num(_ratio(ours["total_seconds"], stock["single_transaction_seconds"])),
            "—",
            "—",
        ),
        _row(
            "Daily Auto-Vacuum job, s (rows of these deleted: stock "
            f"{_num(data['rows'] - stock['rows_left_by_stock_autovacuum'])}, ours up to 1,000)",
            _num(stock["daily_autovacuum_seconds"], 3),
            _num(ours["daily_autovacuum_seconds"], 3),
            _num(_ratio(ours["daily_autovacuum_seconds"], stock["daily_autovacuum_seconds"])),
            "—",
            "—",
        ),
    ]


ROWS = {
    "queue_throughput": queue_rows,
    "queue_lanes": lanes_rows,
    "chatter_queries": chatter_rows,
    "mailing_generation": mailing_rows,
    "campaign_send": campaign_rows,
    "vacuum": vacuum_rows,
}


def bench_rows(name, data, status):
    """Rows of one bench, or one row saying why there are none."""
    if data is None:
        if status and status.get(name) not in (None, 0):
            return _missing_rows(
                name, f"failed (exit {status[name]}, see `bench/results/{name}.log`)"
            )
        return _missing_rows(name, "not run")
    try:
        return ROWS[name](data)
    except (KeyError, TypeError, ZeroDivisionError) as exc:
        return _missing_rows(name, f"unreadable result ({exc.__class__.__name__}: {exc})")


# --- the document -----------------------------------------------------------------------------


def _odoo_line(odoo):
    if not odoo:
        return "unknown"
    where = f"{odoo.get('version', '?')} at `{odoo.get('path', '?')}`"
    if odoo.get("commit"):
        return f"{where}, commit `{odoo['commit']}`"
    return (
        f"{where}, not a git checkout (set `ODOO_COMMIT` to record the commit); "
        f"source fingerprint `{odoo.get('fingerprint', '?')}` "
        "(sha256 of release.py, models.py and the mail / mass_mailing models)"
    )


def render(results, run=None, history=""):
    """The text of RESULTS.md.

    ``results``: {bench name: its JSON}; ``run``: the JSON of ``report.py start`` (date,
    load at start and end, quick flag, exit status of each bench), or None.
    """
    metas = [data["meta"] for data in results.values() if data and data.get("meta")]
    if run and run.get("finished") and any(m["started"] > run["finished"] for m in metas):
        run = None  # a bench was re-run alone after bin/bench-all: describe each result itself
    if not run:
        metas.sort(key=lambda meta: meta["started"])
        run = {
            "load_average_start": metas[0].get("load_average_start") if metas else None,
            "load_average_end": metas[-1].get("load_average_end") if metas else None,
        }
    first = metas[0] if metas else {}
    quick = run.get("quick", any(meta.get("quick") for meta in metas))
    started = run.get("started") or min((m["started"] for m in metas), default=None)
    machine = run.get("machine") or first.get("machine") or {}
    lines = [
        "# Benchmark results",
        "",
        "<!-- Generated by bench/report.py from bench/results/*.json (bin/bench-all):",
        f"     edit the code, not this part; everything from '{HISTORY_HEADING}' on is kept. -->",
        "",
    ]
    if quick:
        lines += [
            "> **Quick run** (`bin/bench-all --quick`, smoke sizes): it shows that every benchmark",
            "> runs, but the figures are not comparable with the targets. Run `bin/bench-all`",
            "> on an idle machine for figures to quote.",
            "",
        ]
    small = [
        f"`{name}` ({key} {data[key]:,}, full size {full:,})"
        for name, (key, full) in FULL_SIZES.items()
        if (data := results.get(name)) and isinstance(data.get(key), int) and data[key] < full
    ]
    if small and not quick:
        lines += [
            "> **Below full size**: " + ", ".join(small) + ". Figures to quote come from",
            "> `bin/bench-all` at full size.",
            "",
        ]
    lines += [
        f"- **Date**: {_when(started)}"
        + (f", {run['duration_seconds'] / 60:.0f} minutes" if run.get("duration_seconds") else ""),
        f"- **Machine**: {machine.get('nproc', '?')} CPUs (nproc), "
        f"load average (1/5/15 min) at start {_load(run.get('load_average_start'))}, "
        f"at end {_load(run.get('load_average_end'))}; "
        f"{machine.get('platform', '?')}, Python {machine.get('python', '?')}, "
        f"PostgreSQL {first.get('postgres') or '?'}",
        f"- **Odoo**: {_odoo_line(first.get('odoo'))}",
        "- **Reproduce**: `bin/bench-all` (full sizes; `--quick` for a smoke run). It creates the",
        "  databases once (`MR_BENCH_DB_PREFIX`, default `mr_bench`: `_stock` with `mail`, `_ours`",
        "  with `mail_reliability`, `_mm_stock` / `_mm_ours` with `mass_mailing` and our bridge,",
        "  `_vacuum_*` copies), runs every benchmark, writes `bench/results/*.json` and this file.",
        "  One benchmark alone: "
        + ", ".join(f"`{COMMANDS[name]}`" for name in BENCHES)
        + "; then `python3 bench/report.py render`.",
        "",
        "Stock is Odoo 18 without our addons, measured in the same run against the same",
        "loopback SMTP sink and the same data; ratios matter, absolute figures are machine noise.",
        "",
        "| figure | stock | ours | ratio | target | met? |",
        "|---|---|---|---|---|---|",
    ]
    status = run.get("status") or {}
    for name in BENCHES:
        for row in bench_rows(name, results.get(name), status):
            if quick and row["met"] != "—":
                row["met"] += " (quick run)"
            lines.append(
                "| {figure} | {stock} | {ours} | {ratio} | {target} | {met} |".format(**row)
            )
    lines += ["", "Per benchmark:", ""]
    for name in BENCHES:
        meta = (results.get(name) or {}).get("meta")
        if not meta:
            continue
        options = "".join(
            f" --{key.replace('_', '-')} {value}"
            for key, value in meta.get("options", {}).items()
            if value is not None  # an option of another mode of the script
        )
        lines.append(
            f"- `{name}`: `{COMMANDS[name]}{options}`, {meta.get('duration_seconds', '?')} s, "
            f"load {_load(meta.get('load_average_start'))} -> "
            f"{_load(meta.get('load_average_end'))}, databases "
            f"`{meta['databases']['stock']}` / `{meta['databases']['ours']}`"
        )
    lines.append("")
    history = history.strip()
    if history:
        lines += [history, ""]
    return "\n".join(lines)


def read_history(path):
    """The part of an existing RESULTS.md to keep: from the History heading on."""
    if not path.exists():
        return ""
    text = path.read_text(encoding="utf-8")
    match = re.search(f"^{re.escape(HISTORY_HEADING)}", text, re.MULTILINE)
    if match:
        return text[match.start() :]
    # A hand-written file from before the generator: keep all of it as history.
    body = text.split("\n", 1)[1] if text.startswith("# ") else text
    body = re.sub(r"^## ", "### ", body, flags=re.MULTILINE)
    return f"{HISTORY_HEADING} (hand-written)\n\n{body.strip()}\n"


def read_results(directory):
    results = {}
    for name in BENCHES:
        path = directory / f"{name}.json"
        if path.exists():
            try:
                results[name] = json.loads(path.read_text(encoding="utf-8"))
            except ValueError as exc:
                print(f"report: ignoring {path}: {exc}", file=sys.stderr)
    return results


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _loadavg():
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None


def start_run(directory, quick):
    """Record the start of a bin/bench-all run; forget the results of earlier runs."""
    import platform

    directory.mkdir(parents=True, exist_ok=True)
    for name in BENCHES:
        for suffix in (".json", ".log"):
            (directory / f"{name}{suffix}").unlink(missing_ok=True)
    run = {
        "started": _now(),
        "quick": quick,
        "load_average_start": _loadavg(),
        "machine": {
            "nproc": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "status": {},
    }
    (directory / "run.json").write_text(json.dumps(run, indent=2) + "\n", encoding="utf-8")


def finish_run(directory, status):
    path = directory / "run.json"
    if not path.exists():
        return None
    run = json.loads(path.read_text(encoding="utf-8"))
    run["load_average_end"] = _loadavg()
    run["finished"] = _now()
    run["status"].update(status)
    started = datetime.datetime.fromisoformat(run["started"])
    run["duration_seconds"] = round(
        (datetime.datetime.now(datetime.timezone.utc) - started).total_seconds()
    )
    path.write_text(json.dumps(run, indent=2) + "\n", encoding="utf-8")
    return run


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start", help="record the start of a run (bin/bench-all)")
    start.add_argument("--quick", action="store_true")
    start.add_argument("--results", type=pathlib.Path, default=RESULTS_DIR)
    rend = sub.add_parser("render", help="write RESULTS.md from the results directory")
    rend.add_argument("--results", type=pathlib.Path, default=RESULTS_DIR)
    rend.add_argument("--output", type=pathlib.Path, default=RESULTS_MD)
    rend.add_argument(
        "--status",
        action="append",
        default=[],
        metavar="BENCH=EXIT",
        help="exit status of a bench (bin/bench-all); closes the run",
    )
    args = parser.parse_args(argv)
    if args.command == "start":
        start_run(args.results, args.quick)
        return 0
    status = {}
    for item in args.status:
        name, _sep, code = item.partition("=")
        status[name] = int(code)
    run = None
    if (args.results / "run.json").exists():
        run = finish_run(args.results, status) if status else None
        if run is None:
            run = json.loads((args.results / "run.json").read_text(encoding="utf-8"))
    results = read_results(args.results)
    if not results:
        print(f"report: no results in {args.results}; run bin/bench-all first", file=sys.stderr)
        return 1
    text = render(results, run, read_history(args.output))
    args.output.write_text(text, encoding="utf-8")
    print(f"report: wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Helpers of bench.sh.

  report.py mnemonics PROFILE.json.gz
      One line per action mnemonic of a Bazel JSON trace profile:
      "mnemonic<TAB>count<TAB>total ms", where total is the sum of the
      durations of its "action processing" events (wall time of each action,
      sandbox set-up included; actions overlap, so the sum can exceed the
      build's wall time).

  report.py table N BASELINE.txt[,...] CURRENT.txt[,...] [TOP]
      The comparison table of one N from the result files (key<TAB>value
      lines written by bench.sh) of each tree, the TOP (10) mnemonics of
      the full build after it. Several files of a tree (comma-separated,
      one per run) give the median of each number.
"""

import collections
import gzip
import json
import sys

# Result keys in table order: key, label, unit.
ROWS = [
    ("targets_configured", "configured targets (analysis)", ""),
    ("warmup_ms", "warm-up: fetch + img tool + 1 layer", "ms"),
    ("analysis_ms", "cold analysis (build --nobuild //...)", "ms"),
    ("analysis_cpu_ms", "  CPU of server and actions", "ms"),
    ("heap_mb", "used-heap-size-after-gc after analysis", "MB"),
    ("build_ms", "full build //... (analysis cached)", "ms"),
    ("build_cpu_ms", "  CPU of server and actions", "ms"),
    ("build_actions", "  actions (total actions)", ""),
    ("build_spawns", "  spawned processes (sandboxed)", ""),
    ("action_sum_ms", "  sum of action times (profile)", "ms"),
    ("noop_ms", "no-op rebuild", "ms"),
    ("noop_cpu_ms", "  CPU of server and actions", "ms"),
    ("onefile_ms", "one-file rebuild (svc0 run.sh)", "ms"),
    ("onefile_cpu_ms", "  CPU of server and actions", "ms"),
    ("onefile_actions", "  actions", ""),
]


def mnemonics(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        data = json.load(f)
    events = data["traceEvents"] if isinstance(data, dict) else data
    total = collections.Counter()
    count = collections.Counter()
    for e in events:
        if e.get("cat") != "action processing" or e.get("ph") != "X":
            continue
        m = (e.get("args") or {}).get("mnemonic") or e.get("name", "?").split(" ")[0]
        total[m] += e.get("dur", 0)
        count[m] += 1
    return {m: (count[m], total[m] / 1000.0) for m in total}


def read_results(path):
    res = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if "\t" in line:
                k, v = line.split("\t", 1)
                res[k] = v
    return res


def median(values):
    xs = sorted(values)
    if not xs:
        return None
    mid = len(xs) // 2
    return xs[mid] if len(xs) % 2 else (xs[mid - 1] + xs[mid]) / 2.0


def merge(paths):
    """The median of each number over the result files of several runs."""
    runs = [read_results(p) for p in paths.split(",") if p]
    res = {}
    keys = []
    for r in runs:
        keys += [k for k in r if k not in keys]
    for k in keys:
        vals = [r[k] for r in runs if k in r]
        if k == "tree":
            res[k] = vals[0]
        elif k.startswith("mnemonic."):
            parts = [v.split("\t") for v in vals]
            res[k] = "%s\t%s" % (median([float(c) for c, _ in parts]), median([float(ms) for _, ms in parts]))
        else:
            nums = [num(v) for v in vals if num(v) is not None]
            res[k] = median(nums) if nums else vals[0]
    res["runs"] = len(runs)
    return res


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def fmt(v):
    x = num(v)
    if x is None:
        return v if v else "-"
    if x == int(x) or abs(x) >= 100:
        return "%.0f" % x
    return "%.1f" % x


def ratio(a, b):
    a, b = num(a), num(b)
    if a is None or b is None or a == 0:
        return "-"
    return "%.2f" % (b / a)


def table(n, base_path, cur_path, top=10):
    base, cur = merge(base_path), merge(cur_path)
    lines = []
    runs = ""
    if base["runs"] > 1 or cur["runs"] > 1:
        runs = "  (median of %d and %d runs)" % (base["runs"], cur["runs"])
    lines.append("N=%s  baseline %s  current %s%s" % (n, base.get("tree", "?"), cur.get("tree", "?"), runs))
    w = max(len(label) + (len(unit) + 3 if unit else 0) for _, label, unit in ROWS)
    lines.append("| %-*s | %10s | %10s | %6s |" % (w, "measure", "baseline", "current", "ratio"))
    lines.append("|-%s-|-%s-|-%s-|-%s-|" % ("-" * w, "-" * 10, "-" * 10, "-" * 6))
    for key, label, unit in ROWS:
        name = label + (" (%s)" % unit if unit else "")
        lines.append("| %-*s | %10s | %10s | %6s |" % (
            w, name, fmt(base.get(key)), fmt(cur.get(key)), ratio(base.get(key), cur.get(key))))
    lines.append("cold analysis: loading and analysis of //... on the server of the warm-up, which")
    lines.append("already built the img tool; full build: execution only (analysis cached); CPU: the")
    lines.append("Bazel server and its actions; ratio: current/baseline.")
    bm, cm = {}, {}
    for res, into in ((base, bm), (cur, cm)):
        for k, v in res.items():
            if k.startswith("mnemonic."):
                c, ms = v.split("\t")
                into[k[len("mnemonic."):]] = (float(c), float(ms))
    order = sorted(set(bm) | set(cm), key=lambda m: (-cm.get(m, bm.get(m, (0, 0)))[1], m))[:top]
    lines.append("")
    lines.append("Top %d mnemonics of the full build, by summed action time (ms; count in brackets):" % top)
    mw = max([len(m) for m in order] + [8])
    lines.append("| %-*s | %16s | %16s | %6s |" % (mw, "mnemonic", "baseline", "current", "ratio"))
    lines.append("|-%s-|-%s-|-%s-|-%s-|" % ("-" * mw, "-" * 16, "-" * 16, "-" * 6))
    for m in order:
        b = bm.get(m)
        c = cm.get(m)
        bs = "%.0f (%s)" % (b[1], fmt(b[0])) if b else "-"
        cs = "%.0f (%s)" % (c[1], fmt(c[0])) if c else "-"
        lines.append("| %-*s | %16s | %16s | %6s |" % (
            mw, m, bs, cs, ratio(b[1] if b else None, c[1] if c else None)))
    return "\n".join(lines)


def main(argv):
    if len(argv) == 3 and argv[1] == "mnemonics":
        res = mnemonics(argv[2])
        for m, (c, ms) in sorted(res.items(), key=lambda kv: (-kv[1][1], kv[0])):
            print("%s\t%d\t%.1f" % (m, c, ms))
        return 0
    if len(argv) in (5, 6) and argv[1] == "table":
        print(table(argv[2], argv[3], argv[4], int(argv[5]) if len(argv) == 6 else 10))
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

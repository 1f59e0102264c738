#!/usr/bin/env python3
"""Launch GUI apps N times each and measure launch -> first paint and whole-process-tree PSS.

Used by scripts/measure-startup.sh (which builds the apps, seeds data and provides the display).

  measure_startup.py --runs 5 --settle 3 --timeout 120 --out DIR \
      --app NAME READY_REGEX ENV_JSON -- CMD... [--app ...]

For each launch: the time from spawning the process until its stderr prints READY_REGEX
(e.g. `caixa: ui-ready (\\d+)`; the group, if any, is the app's own ms figure), then, SETTLE
seconds later, the sum of Pss from /proc/<pid>/smaps_rollup over the process and all its
descendants (WebKitWebProcess, WebKitNetworkProcess...). Then SIGTERM (SIGKILL after 5 s) to the
whole tree. Prints a table with medians and the ratio of the first app to the second.
"""

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time


def process_table():
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        rest = stat.rsplit(")", 1)[1].split()
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        table[int(entry)] = (int(rest[1]), rest[0], comm)  # ppid, state, comm
    return table


def tree(pid):
    table = process_table()
    found = [pid]
    i = 0
    while i < len(found):
        found += [p for p, (pp, _, _) in table.items() if pp == found[i]]
        i += 1
    return [(p, table.get(p, (0, "?", "?"))[2]) for p in found]


def pss_kib(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def stop_tree(proc):
    pids = [p for p, _ in tree(proc.pid)]
    for p in pids:
        try:
            os.kill(p, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if proc.poll() is not None and not any(alive(p) for p in pids[1:]):
            break
        time.sleep(0.05)
    for p in pids:
        if alive(p):
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def launch(name, cmd, env_extra, ready_re, settle, timeout, log_path):
    env = dict(os.environ)
    env.update(env_extra)
    t0 = time.monotonic()
    proc = subprocess.Popen(
        cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    ready = threading.Event()
    result = {}
    log = open(log_path, "ab")
    log.write(f"--- {name}: {' '.join(cmd)}\n".encode())

    def drain():
        # Keep reading until EOF so the app never blocks on a full stderr pipe.
        for raw in proc.stderr:
            log.write(raw)
            if not ready.is_set():
                m = ready_re.search(raw.decode("utf-8", "replace"))
                if m:
                    result["t"] = time.monotonic() - t0
                    result["self_ms"] = int(m.group(1)) if m.groups() else None
                    ready.set()

    th = threading.Thread(target=drain, daemon=True)
    th.start()
    try:
        if not ready.wait(timeout):
            raise RuntimeError(
                f"{name}: no line matching {ready_re.pattern!r} on stderr within {timeout} s "
                f"(exit code {proc.poll()}); see {log_path}"
            )
        time.sleep(settle)
        if proc.poll() is not None:
            raise RuntimeError(f"{name}: exited ({proc.returncode}) before the PSS sample")
        procs = tree(proc.pid)
        pss = {f"{comm}[{p}]": pss_kib(p) for p, comm in procs}
        return result["t"] * 1000, result.get("self_ms"), sum(pss.values()) / 1024, pss
    finally:
        stop_tree(proc)
        th.join(timeout=5)
        log.close()


def main():
    argv = sys.argv[1:]
    # Split "--app NAME REGEX ENV_JSON -- CMD..." groups off the common options.
    apps = []
    common = []
    i = 0
    while i < len(argv):
        if argv[i] == "--app":
            name, regex, env_json = argv[i + 1 : i + 4]
            if argv[i + 4] != "--":
                sys.exit("--app NAME REGEX ENV_JSON -- CMD...")
            j = i + 5
            cmd = []
            while j < len(argv) and argv[j] != "--app":
                cmd.append(argv[j])
                j += 1
            apps.append((name, re.compile(regex), json.loads(env_json), cmd))
            i = j
        else:
            common.append(argv[i])
            i += 1
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--settle", type=float, default=3.0)
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--out", default=".")
    args = ap.parse_args(common)
    os.makedirs(args.out, exist_ok=True)

    results = {}
    for name, ready_re, env_extra, cmd in apps:
        log_path = os.path.join(args.out, f"measure-{name}.log")
        open(log_path, "w").close()
        runs = []
        for k in range(args.warmup + args.runs):
            warm = k < args.warmup
            ms, self_ms, pss_mib, detail = launch(
                name, cmd, env_extra, ready_re, args.settle, args.timeout, log_path
            )
            tag = "warm-up" if warm else f"run {k - args.warmup + 1}/{args.runs}"
            own = f", app says {self_ms} ms" if self_ms is not None else ""
            print(
                f"  {name:>6} {tag:>9}: launch->ready {ms:7.0f} ms{own}; tree PSS {pss_mib:6.1f} MiB",
                flush=True,
            )
            print("           " + ", ".join(f"{k}={v / 1024:.1f}" for k, v in detail.items()), flush=True)
            if not warm:
                runs.append((ms, self_ms, pss_mib))
        results[name] = runs

    names = [a[0] for a in apps]
    med = {
        n: (
            statistics.median(r[0] for r in results[n]),
            statistics.median(r[2] for r in results[n]),
            min(r[0] for r in results[n]),
            max(r[0] for r in results[n]),
        )
        for n in names
    }
    print()
    print(f"{'app':<10} {'runs':>4} {'median launch->ready ms':>24} {'(min-max)':>13} {'median tree PSS MiB':>20}")
    for n in names:
        m_ms, m_pss, lo, hi = med[n]
        print(f"{n:<10} {len(results[n]):>4} {m_ms:>24.0f} {f'({lo:.0f}-{hi:.0f})':>13} {m_pss:>20.1f}")
    if len(names) >= 2:
        a, b = names[0], names[1]
        print(
            f"{a + '/' + b:<10} {'':>4} {med[a][0] / med[b][0]:>23.2f}x {'':>13} {med[a][1] / med[b][1]:>19.2f}x"
        )
    with open(os.path.join(args.out, "measure-startup.json"), "w") as f:
        json.dump(
            {n: [{"launch_to_ready_ms": r[0], "app_ms": r[1], "pss_mib": r[2]} for r in results[n]] for n in names},
            f,
            indent=2,
        )


if __name__ == "__main__":
    main()

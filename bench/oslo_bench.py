#!/usr/bin/python3
"""Time oslo.policy's Enforcer.enforce() on the requests Go's BenchmarkDecision uses.

Run from the repository root with Debian's python3-oslo.policy:

    /usr/bin/python3 bench/oslo_bench.py [--seconds 2]

Prints one line per case: name, decision, and microseconds per enforce()
(the best of 5 rounds, each at least --seconds/5 long). The policy is loaded
once, as a service does; each call is a whole Enforcer.enforce().

With --batch POLICY it is instead the oslo.policy twin of
`oslorego check --batch --policy POLICY`: JSON Lines requests
{"rule", "target", "creds"} on stdin, one {"allowed": bool} line out each,
for whole-process throughput comparisons.

With --cold DIR it times one cold decision on every real policy file, side
by side with oslorego (issue 13 goal 1): DIR holds the requests `go run
./bench/cold gen -out DIR` wrote, one NAME.jsonl per file of --policies.
For each file, alternating which goes first, oslorego (`cold time`, the
binary given with --go) and oslo.policy each decide the same requests in
turn until --n decisions are timed one by one; it prints a Markdown table of
the medians (p50) and p90s, and fails if the two disagree on any request.

    go build -o /tmp/cold ./bench/cold
    /tmp/cold gen -policies ../shared/policies -out /tmp/cold-req
    /usr/bin/python3 bench/oslo_bench.py --cold /tmp/cold-req --go /tmp/cold
"""
import argparse
import atexit
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

from oslo_config import cfg
from oslo_policy import policy

warnings.simplefilter('ignore')


def load_enforcer(path):
    with open(path) as f:
        rules = policy.Rules.load(f.read(), 'default')
    conf = cfg.ConfigOpts()
    conf([], default_config_files=[], default_config_dirs=[])
    enf = policy.Enforcer(conf)
    enf.set_rules(rules, overwrite=True, use_conf=False)
    return enf


def load_registered(path):
    """An Enforcer as a service with these registered defaults and an
    empty policy file has it (oslo's default options)."""
    with open(path) as f:
        defaults = json.load(f)['rules']
    # The file stays while the process runs: enforce() checks it, as a
    # service's does.
    tmp = tempfile.mkdtemp(prefix='oslo-bench-')
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    pfile = os.path.join(tmp, 'policy.yaml')
    with open(pfile, 'w') as f:
        f.write('{}')
    conf = cfg.ConfigOpts()
    conf([], default_config_files=[], default_config_dirs=[])
    enf = policy.Enforcer(conf, policy_file=pfile)
    conf.set_override('policy_dirs', [], group='oslo_policy')
    for name, d in defaults.items():
        dep = None
        if d.get('deprecated_rule'):
            dr = d['deprecated_rule']
            dep = policy.DeprecatedRule(dr['name'], dr.get('check_str', ''),
                                        deprecated_reason='reason', deprecated_since='X')
        kw = {}
        if d.get('deprecated_for_removal'):
            kw = {'deprecated_for_removal': True, 'deprecated_reason': 'reason', 'deprecated_since': 'X'}
        enf.register_default(policy.RuleDefault(name, d.get('check_str', ''), deprecated_rule=dep,
                                                scope_types=d.get('scope_types'), **kw))
    enf.load_rules()
    return enf


def time_oslo(enf, reqs, n):
    """Times n enforce() calls over reqs in turn, one clock reading each."""
    times, decisions = [], []
    clock = time.perf_counter_ns
    i = 0
    while len(times) < n:
        rule, target, creds = reqs[i % len(reqs)]
        creds = dict(creds)  # enforce() may add "system"; not timed
        start = clock()
        try:
            ok = '1' if enf.enforce(rule, target, creds) else '0'
        except Exception:  # oslo raised: oslorego fails closed
            ok = 'e'
        times.append(clock() - start)
        if i < len(reqs):
            decisions.append(ok)
        i += 1
    times.sort()
    return {'p50_us': times[len(times) // 2] / 1e3, 'p90_us': times[len(times) * 9 // 10] / 1e3,
            'mean_us': statistics.fmean(times) / 1e3, 'decisions': ''.join(decisions)}


def cold(args):
    names = sorted(f for f in os.listdir(args.policies) if f.endswith('.json'))
    print('| policy file | requests | oslorego p50 µs | oslo.policy p50 µs | ratio p50 | oslorego p90 | oslo p90 |')
    print('|---|---:|---:|---:|---:|---:|---:|')
    ratios, bad = [], []
    for k, name in enumerate(names):
        path = os.path.join(args.policies, name)
        meta = name.endswith('.meta.json')
        reqfile = os.path.join(args.cold, name[:-len('.json')].replace('.', '-') + '.jsonl')
        with open(reqfile) as f:
            reqs = [(r['rule'], r['target'], r['creds']) for r in map(json.loads, f) if r]
        go_cmd = [args.go, 'time', '-defaults' if meta else '-policy', path, '-requests', reqfile, '-n', str(args.n)]

        def ours():
            out = subprocess.run(go_cmd, check=True, stdout=subprocess.PIPE).stdout
            return json.loads(out)

        def theirs():
            enf = load_registered(path) if meta else load_enforcer(path)
            return time_oslo(enf, reqs, args.n)

        if k % 2 == 0:
            o, t = ours(), theirs()
        else:
            t, o = theirs(), ours()
        if o['decisions'] != t['decisions']:
            diff = [i for i, (a, b) in enumerate(zip(o['decisions'], t['decisions'])) if a != b]
            bad.append('%s: %d decisions differ, first request %d' % (name, len(diff), diff[0] if diff else -1))
        ratio = o['p50_us'] / t['p50_us']
        ratios.append(ratio)
        print('| %s | %d | %.1f | %.1f | %.2f | %.1f | %.1f |' % (
            name, len(reqs), o['p50_us'], t['p50_us'], ratio, o['p90_us'], t['p90_us']), flush=True)
    print('\nratio oslorego ÷ oslo.policy (p50): best %.2f, median %.2f, worst %.2f' % (
        min(ratios), statistics.median(ratios), max(ratios)))
    if bad:
        sys.exit('decisions differ:\n' + '\n'.join(bad))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--seconds', type=float, default=2.0)
    ap.add_argument('--cases', default='policy_test/testdata/bench_cases.json')
    ap.add_argument('--batch', metavar='POLICY')
    ap.add_argument('--cold', metavar='DIR', help='requests from `go run ./bench/cold gen -out DIR`')
    ap.add_argument('--go', default='/tmp/cold', help='with --cold: the built ./bench/cold')
    ap.add_argument('--policies', default='../shared/policies')
    ap.add_argument('-n', type=int, default=20000, help='with --cold: decisions timed per policy and side')
    args = ap.parse_args()
    if args.cold:
        cold(args)
        return
    if args.batch:
        enf = load_enforcer(args.batch)
        out = sys.stdout
        for line in sys.stdin:
            if not line.strip():
                continue
            req = json.loads(line)
            try:
                res = {'allowed': bool(enf.enforce(req['rule'], req.get('target', {}), req.get('creds', {})))}
            except Exception as e:  # oslo raised: deny, like oslorego
                res = {'allowed': False, 'error': '%s: %s' % (type(e).__name__, e)}
            out.write(json.dumps(res) + '\n')
        return
    with open(args.cases) as f:
        cases = json.load(f)
    for c in cases:
        enf = load_enforcer(c['policy'])
        target, creds, rule = c['target'], c['creds'], c['rule']
        got = bool(enf.enforce(rule, target, dict(creds)))
        if got != c['allowed']:
            sys.exit('%s: oslo says %s, the case says %s' % (c['name'], got, c['allowed']))
        best = None
        for _ in range(5):
            n, start = 0, time.perf_counter()
            deadline = start + args.seconds / 5
            while True:
                for _ in range(100):
                    enf.enforce(rule, target, dict(creds))
                n += 100
                now = time.perf_counter()
                if now >= deadline:
                    break
            per = (now - start) / n * 1e6
            best = per if best is None else min(best, per)
        print('%-32s allowed=%-5s %8.1f us/op' % (c['name'], got, best))


if __name__ == '__main__':
    main()

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
"""
import argparse
import json
import os
import sys
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--seconds', type=float, default=2.0)
    ap.add_argument('--cases', default='policy_test/testdata/bench_cases.json')
    ap.add_argument('--batch', metavar='POLICY')
    args = ap.parse_args()
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

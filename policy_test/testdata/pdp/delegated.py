#!/usr/bin/python3
"""Decide the same requests with the real oslo.policy twice: locally, on the
original policy, and through a delegated policy file (written by `oslorego
delegate`) whose every rule is the PDP's http(s) check, so that oslo's own
HttpCheck asks `oslorego serve --pdp-listen`.

stdin: one JSON object
  {"defaults": PATH,            registered defaults (the oslorego format)
   "original": PATH,            the original policy file
   "delegated": PATH,           the delegated policy file
   "conf": {OPT: VALUE},        [oslo_policy] options of both enforcers
   "conf_file": PATH,           the delegated enforcer's config file (the
                                [oslo_policy] lines delegate wrote)
   "cases": [{"rule", "target", "creds", "objects": [KEY, ...]}],
   "opa": {"url": BASE, "verify": CA|null, "cert": [CRT, KEY]|null},
   "refused": [PATH, ...]}      optional: config files (a wrong or missing
                                client certificate) each enforcing the first
                                case once: the PDP must refuse the handshake
                                optional: also decide through oslo.policy.opa's
                                protocol (see OPAProtocolCheck)
A target key listed in "objects" gets a bare object() as its value (oslo's
HttpCheck sends {} for it).

stdout: one JSON line per case, {"local": R, "delegated": R[, "opa": R]}, where R is
{"allowed": bool} or {"error": "ExcType: message"}; then a last line
{"seconds": {"local": S, "delegated": S}, "refused": [R, ...]}.
"""

import copy
import json
import os
import sys
import time
import warnings

import requests
from oslo_config import cfg
from oslo_policy import _checks
from oslo_policy import policy

warnings.simplefilter('ignore')


def rule_default(name, d):
    dep = None
    if d.get('deprecated_rule'):
        dr = d['deprecated_rule']
        dep = policy.DeprecatedRule(
            dr['name'], dr.get('check_str', ''),
            deprecated_reason=dr.get('deprecated_reason', 'reason'),
            deprecated_since=dr.get('deprecated_since', 'X'))
    kw = {}
    if d.get('deprecated_for_removal'):
        kw['deprecated_for_removal'] = True
        kw['deprecated_reason'] = d.get('deprecated_reason', 'reason')
        kw['deprecated_since'] = d.get('deprecated_since', 'X')
    return policy.RuleDefault(name, d.get('check_str', ''),
                              deprecated_rule=dep,
                              scope_types=d.get('scope_types'), **kw)


def enforcer(policy_file, defaults, opts, conf_file=None):
    conf = cfg.ConfigOpts()
    conf([], default_config_files=[conf_file] if conf_file else [],
         default_config_dirs=[])
    enf = policy.Enforcer(conf, policy_file=policy_file)
    conf.set_override('policy_dirs', [], group='oslo_policy')
    for k, v in opts.items():
        conf.set_override(k, v, group='oslo_policy')
    for name, d in defaults.items():
        enf.register_default(rule_default(name, d))
    enf.load_rules()
    return enf


def enforce(enf, case):
    target = copy.deepcopy(case['target'])
    for k in case.get('objects') or []:
        target[k] = object()
    creds = copy.deepcopy(case['creds'])
    try:
        return {'allowed': bool(enf.enforce(case['rule'], target, creds))}
    except Exception as e:  # what the service would see raised
        return {'error': '%s: %s' % (type(e).__name__, e)}


class OPAProtocolCheck(_checks.Check):
    """An ``opa:RULE`` check speaking gtema/oslo.policy.opa's protocol, as
    its OPACheck does (written from the plugin's description, not its code):
    POST {"input": {"target": ..., "credentials": ...}} to
    BASE/v1/data/<RULE with ':' -> '/' and '-' -> '_'>/allow, allowed
    exactly when the answer is 200 with a boolean "result" that is true.
    Target values that JSON cannot carry (a bare object()) are left out, as
    the plugin does. Unlike the plugin, a failure raises instead of falling
    back to the registered default, so that the test sees it. Like the
    plugin, it keeps one requests.Session: connections are reused."""

    base, verify, cert, session = None, True, None, None

    def __call__(self, target, creds, enforcer, current_rule=None):
        path = self.match.translate(str.maketrans({':': '/', '-': '_'}))
        keep = {k: v for k, v in target.items() if type(v) is not object}
        body = {'input': {'target': keep, 'credentials': dict(creds)}}
        r = self.session.post('%s/v1/data/%s/allow' % (self.base, path), json=body,
                          verify=self.verify, cert=self.cert, timeout=30)
        if r.status_code != 200:
            raise RuntimeError('OPA query %s: %d %s' % (path, r.status_code, r.text))
        return r.json().get('result') is True


def opa_enforcer(spec, defaults, conf, path):
    """The Enforcer of a service using oslo.policy.opa: every registered
    rule, and default, is opa:NAME (its policy file written to path)."""
    OPAProtocolCheck.base = spec['url']
    OPAProtocolCheck.verify = spec.get('verify') or True
    OPAProtocolCheck.cert = tuple(spec['cert']) if spec.get('cert') else None
    OPAProtocolCheck.session = requests.Session()
    _checks.register('opa', OPAProtocolCheck)
    rules = {name: 'opa:' + name for name in list(defaults) + ['default']}
    with open(path, 'w') as f:
        json.dump(rules, f)
    return enforcer(path, defaults, conf)


def main():
    spec = json.load(sys.stdin)
    with open(spec['defaults']) as f:
        defaults = json.load(f)['rules']
    conf = spec.get('conf') or {}
    local = enforcer(spec['original'], defaults, conf)
    delegated = enforcer(spec['delegated'], defaults, conf,
                         spec['conf_file'])
    enforcers = [('local', local), ('delegated', delegated)]
    if spec.get('opa'):
        path = os.path.join(os.path.dirname(spec['delegated']), 'opa.json')
        enforcers.append(('opa', opa_enforcer(spec['opa'], defaults, conf, path)))
    spent = {name: 0.0 for name, _ in enforcers}
    for case in spec['cases']:
        out = {}
        for name, enf in enforcers:
            start = time.perf_counter()
            out[name] = enforce(enf, case)
            spent[name] += time.perf_counter() - start
        sys.stdout.write(json.dumps(out) + '\n')
    refused = []
    for conf_file in spec.get('refused') or []:
        enf = enforcer(spec['delegated'], defaults, conf, conf_file)
        refused.append(enforce(enf, spec['cases'][0]))
    sys.stdout.write(json.dumps({'seconds': spent, 'refused': refused}) + '\n')


if __name__ == '__main__':
    main()

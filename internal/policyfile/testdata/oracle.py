# Differential oracle for internal/policyfile (see differential_test.go).
#
# Reads framed documents from stdin ("<byte length>\n<bytes>") and prints
# one canonical line per document describing what oslo.policy 4.0.0 loads
# from a policy file with those bytes:
#
#   ERR <exception type>       the load raises
#   OK <format> <rule>|<rule>  parsed dict, rules in dict order
#
# The file is decoded as open(path) does (UTF-8, universal newlines) and
# parsed by a copy of oslo_policy.policy.parse_file_contents (4.0.0).
import datetime
import io
import json
import logging
import sys

import yaml
from oslo_serialization import jsonutils

logging.disable(logging.CRITICAL)


def parse_file_contents(data):
    # oslo_policy/policy.py:397-424 (4.0.0), returning the format too.
    try:
        parsed = jsonutils.loads(data)
        fmt = 'json'
    except ValueError:
        try:
            parsed = yaml.safe_load(data)
        except yaml.YAMLError as e:
            raise ValueError(str(e))
        fmt = 'yaml'
    return parsed or {}, fmt


def kind(v):
    if v is None:
        return 'Null'
    if isinstance(v, bool):
        return 'Bool'
    if isinstance(v, int):
        return 'Int'
    if isinstance(v, float):
        return 'Float'
    if isinstance(v, str):
        return 'String'
    if isinstance(v, (list, tuple, set)):
        return 'List'
    if isinstance(v, dict):
        return 'Map'
    return 'Other'


def canon(v):
    t = '+' if v else '-'
    k = kind(v)
    if v is None:
        return t + 'Null'
    if k in ('Bool', 'Int'):
        return t + k + ':' + str(v)
    if k == 'Float':
        return t + k + ':' + repr(v)
    if k == 'String':
        return t + k + ':' + ascii(v)
    if k == 'List':
        return t + 'List[' + ', '.join(canon(x) for x in v) + ']'
    if k == 'Map':
        return t + 'Map{' + ', '.join(canon(a) + ': ' + canon(b) for a, b in v.items()) + '}'
    return t + 'Other:' + repr(v)


def render(raw):
    try:
        text = io.TextIOWrapper(io.BytesIO(raw), encoding='utf-8').read()
        parsed, fmt = parse_file_contents(text)
        items = list(parsed.items())  # Rules.load: AttributeError if not a dict
    except Exception as e:
        return 'ERR ' + type(e).__name__
    sys.set_int_max_str_digits(0)
    try:
        return 'OK %s %s' % (fmt, ' | '.join(
            '%s %s = %s' % (ascii(str(k)), kind(k), canon(v)) for k, v in items))
    except RecursionError:
        return 'RECURSIVE'
    finally:
        sys.set_int_max_str_digits(4300)


def main():
    inp = sys.stdin.buffer
    out = sys.stdout
    while True:
        header = inp.readline()
        if not header:
            break
        raw = inp.read(int(header))
        out.write(render(raw) + '\n')
        out.flush()


if __name__ == '__main__':
    sys.setrecursionlimit(1000)
    main()

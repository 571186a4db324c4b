# What Glance Zed's image listing does to a query string, run unchanged:
# Debian's webob (python3-webob 1:1.8.6-3) parse_qsl_text, Python's int(),
# oslo.utils' parse_isotime + normalize_time (iso8601), and Glance's own
# split_filter_op, validate_quotes and split_filter_value_for_quotes,
# taken from glance/common/utils.py (argv[1]: the dist-packages of
# python3-glance 2:25.1.0). Only these functions are compiled, so Glance's
# other imports are not needed.
# Input: JSON lines {"kind", "s"} ("query" takes "hex": the raw bytes);
# output: one JSON line per input, {"ok": value} or, where Python raises,
# {"error": message}.
import ast, json, os, re, sys, types

from oslo_utils import timeutils
from webob.compat import parse_qsl_text

src = sys.argv[1]


class InvalidParameterValue(ValueError):
    def __init__(self, message):
        self.msg = message


env = {"re": re, "timeutils": timeutils, "_": lambda s: s,
       "exception": types.SimpleNamespace(InvalidParameterValue=InvalidParameterValue)}
path = os.path.join(src, "glance/common/utils.py")
with open(path) as f:
    tree = ast.parse(f.read(), path)
wanted = {"split_filter_op", "validate_quotes", "split_filter_value_for_quotes"}
fns = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in wanted]
if len(fns) != len(wanted):
    sys.exit("%s: not all of %s" % (path, sorted(wanted)))
exec(compile(ast.Module(body=fns, type_ignores=[]), path, "exec"), env)


def answer(q):
    try:
        return {"ok": value(q)}
    except (ValueError, OverflowError, UnicodeDecodeError) as e:
        return {"error": getattr(e, "msg", "")}


def value(q):
    kind, s = q["kind"], q.get("s")
    if kind == "query":
        return list(parse_qsl_text(bytes.fromhex(q["hex"]).decode("latin-1")))
    if kind == "int":
        return str(int(s))
    if kind == "iso":
        t = timeutils.normalize_time(timeutils.parse_isotime(s))
        return t.isoformat(timespec="microseconds")
    if kind == "op":
        return list(env["split_filter_op"](s))
    if kind == "quotes":
        return env["split_filter_value_for_quotes"](s)
    sys.exit("unknown kind %r" % kind)


for line in sys.stdin:
    print(json.dumps(answer(json.loads(line))))

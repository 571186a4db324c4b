# Glance Zed's own Range handling on Debian's webob (python3-webob 1:1.8.6-3):
# Request.get_range_from_request (glance/common/wsgi.py) and
# ResponseSerializer.download (glance/api/v2/image_data.py), taken from
# Glance's source (argv[1]: the dist-packages of python3-glance 2:25.1.0,
# unpacked or installed) and run unchanged. Only these two methods are
# compiled, so Glance's other imports are not needed.
# Input: JSON lines {"range"?, "cr"?, "size"}; output: [status] or
# [206, offset, length].
import ast, json, logging, os, sys, types
import webob, webob.byterange, webob.exc

src = sys.argv[1]


def method(rel, cls, name, env):
    path = os.path.join(src, rel)
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == cls:
            for fn in node.body:
                if isinstance(fn, ast.FunctionDef) and fn.name == name:
                    ns = dict(env)
                    exec(compile(ast.Module(body=[fn], type_ignores=[]), path, "exec"), ns)
                    return ns[name]
    sys.exit("%s: no %s.%s" % (path, cls, name))


class Never(Exception):
    """Stands in for the store and policy errors download() catches."""


env = {
    "webob": webob,
    "glance_store": types.SimpleNamespace(NotFound=Never, RemoteServiceUnavailable=Never,
                                          StoreGetNotSupported=Never, StoreRandomGetNotSupported=Never),
    "exception": types.SimpleNamespace(Forbidden=Never),
    "LOG": logging.getLogger("glance"),
}
get_range = method("glance/common/wsgi.py", "Request", "get_range_from_request", env)
download = method("glance/api/v2/image_data.py", "ResponseSerializer", "download", env)


class Request:
    get_range_from_request = get_range

    def __init__(self, headers):
        self.headers = headers


class Response:
    def __init__(self, request):
        self.request, self.headers, self.status_int = request, {}, 200


class Image:
    checksum = None

    def __init__(self, size):
        self.size, self.read = size, None

    def get_data(self, offset=0, chunk_size=None):
        self.read = (offset, chunk_size)
        return []


def glance(q):
    headers = {}
    if "range" in q:
        headers["Range"] = q["range"]
    if "cr" in q:
        headers["Content-Range"] = q["cr"]
    resp, image = Response(Request(headers)), Image(q["size"])
    try:
        download(None, resp, image)
    except webob.exc.HTTPException as e:
        return [e.code]
    except Exception:
        return [500]  # what an unhandled error in a Glance serializer becomes
    if resp.status_int != 206:
        return [resp.status_int]
    return [206, image.read[0], image.read[1]]


for line in sys.stdin:
    print(json.dumps(glance(json.loads(line))))

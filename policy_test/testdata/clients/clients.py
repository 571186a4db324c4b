"""Drive the real OpenStack Python clients against oslorego for clients_test.go.

usage: clients.py sdk|nova CONN OPS
  CONN  JSON: {"cloud": NAME} (clouds.yaml from $OS_CLIENT_CONFIG_FILE, through
        Keystone's catalog) or {"token": T, "endpoint": URL} (no Keystone).
  OPS   JSON list of {"name", "op", "id", "path"}.
Prints one JSON object: name -> {"value": ...} or {"error": "module.Class",
"status": HTTP status or null, "message": str(exception), "details": ...}.

sdk  is openstacksdk 0.101 (conn.image: images, get_image, download_image).
nova is Nova's image path: glanceclient v2 on a keystoneauth session with the
     user's token and the catalog's image endpoint; images.get, then
     images.data, whose iterator checks the image's os_hash_value (sha512)
     while the caller writes the data out, as nova.image.glance does.
"""
import hashlib
import json
import sys


def error(e):
    status = getattr(e, "status_code", None)
    if status is None:
        status = getattr(e, "code", None)
    if not isinstance(status, int):
        status = None
    return {"error": type(e).__module__ + "." + type(e).__name__, "status": status,
            "message": str(e), "details": str(getattr(e, "details", "") or "")}


def digests(data):
    return {"size": len(data), "md5": hashlib.md5(data).hexdigest(),
            "sha512": hashlib.sha512(data).hexdigest()}


def sdk(conn_spec, ops):
    import openstack
    if "cloud" in conn_spec:
        conn = openstack.connect(cloud=conn_spec["cloud"])
    else:
        conn = openstack.connect(auth_type="admin_token",
                                 auth={"token": conn_spec["token"],
                                       "endpoint": conn_spec["endpoint"]})
    image = conn.image

    def run(op):
        kind = op["op"]
        if kind == "list":
            return sorted(i.id for i in image.images())
        if kind == "get":
            i = image.get_image(op["id"])
            return {"id": i.id, "name": i.name, "checksum": i.checksum}
        if kind == "download":  # into memory; the SDK checks the MD5
            return digests(image.download_image(op["id"]).content)
        if kind == "download_file":
            image.download_image(op["id"], output=op["path"])
            return op["path"]
        if kind == "download_stream":  # the response, unchecked
            r = image.download_image(op["id"], stream=True)
            return {"status": r.status_code, "body": r.text if r.status_code >= 400 else ""}
        raise ValueError("unknown op " + kind)
    return run


def nova(conn_spec, ops):
    import glanceclient
    from keystoneauth1 import session, token_endpoint
    if "cloud" in conn_spec:
        import openstack.config
        cloud = openstack.config.OpenStackConfig().get_one(conn_spec["cloud"])
        user = cloud.get_session()
        token = user.get_token()
        endpoint = user.get_endpoint(service_type="image", interface="public")
    else:
        token, endpoint = conn_spec["token"], conn_spec["endpoint"]
    # Nova: glanceclient.Client(2, session=sess, auth=<the user's token>,
    # endpoint_override=<the catalog's image endpoint>)
    client = glanceclient.Client("2", session=session.Session(),
                                 auth=token_endpoint.Token(endpoint, token),
                                 endpoint_override=endpoint)

    def run(op):
        kind = op["op"]
        if kind == "get":
            i = client.images.get(op["id"])
            return {"id": i["id"], "checksum": i["checksum"], "os_hash_value": i["os_hash_value"]}
        if kind == "data":
            body = client.images.data(op["id"])
            data = b"".join(body)  # the hash is checked as the last chunk is read
            return digests(data)
        raise ValueError("unknown op " + kind)
    return run


def main():
    driver, conn_spec, ops = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
    out = {}
    try:
        run = {"sdk": sdk, "nova": nova}[driver](conn_spec, ops)
    except Exception as e:  # the connection itself failed: every op says so
        run = None
        failure = error(e)
    for op in ops:
        if run is None:
            out[op["name"]] = failure
            continue
        try:
            out[op["name"]] = {"value": run(op)}
        except Exception as e:
            out[op["name"]] = error(e)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()

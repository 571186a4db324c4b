#!/usr/bin/python3
"""What a service's oslo.policy answers when the PDP is down, slow or hung.

Run with Debian's python3-oslo.policy 4.0.0:

    /usr/bin/python3 bench/pdp_outage.py [--wait 20] [--pdp URL [--n 300]]

For each scenario a delegated rule ("r": "http://HOST:PORT/v1/oslo/check",
oslo's own HttpCheck) is enforced once, as a service does, and the script
prints what Enforcer.enforce() returned or raised and how long it took:

  refused     nothing listens on the port
  hung        the PDP accepts the connection and never answers
  slow-2s     the PDP answers True after 2 seconds
  error-503   the PDP answers 503 with a body that is not True
  no-syn-ack  the PDP's SYNs go unanswered (a dead or firewalled host;
              simulated by a listener whose accept queue is full, since
              this machine's network answers every outside address)

A call still blocked after --wait seconds is reported as blocked (the
script leaves it running in a daemon thread). With --pdp URL (a running
`oslorego serve --pdp-listen`, http or https; --ca, --cert and --key for
its CA and a client certificate) it instead times --n enforce() calls of a
rule delegated to it (the PDP decides its own rule "r": the default rule
on most bundles) against the same check enforced locally.
"""
import argparse
import http.server
import socket
import socketserver
import threading
import time
import warnings

from oslo_config import cfg
from oslo_policy import policy

warnings.simplefilter('ignore')


def enforcer(url, remote=None):
    conf = cfg.ConfigOpts()
    conf([], default_config_files=[], default_config_dirs=[])
    enf = policy.Enforcer(conf)
    for k, v in (remote or {}).items():
        conf.set_override(k, v, group='oslo_policy')
    enf.set_rules(policy.Rules.from_dict({'r': url}), use_conf=False)
    return enf


def timed(enf, wait):
    box = {}

    def call():
        start = time.perf_counter()
        try:
            box['result'] = 'returned %r' % enf.enforce(
                'r', {'project_id': 'p1'}, {'roles': ['member']})
        except Exception as e:
            box['result'] = 'raised %s: %s' % (type(e).__name__, str(e)[:80])
        box['seconds'] = time.perf_counter() - start

    t = threading.Thread(target=call, daemon=True)
    t.start()
    t.join(wait)
    if t.is_alive():
        return 'still blocked after %.0f s (no timeout)' % wait
    return '%s after %.3f s' % (box['result'], box['seconds'])


class Handler(http.server.BaseHTTPRequestHandler):
    delay, status, body = 0, 200, b'True'

    def do_POST(self):
        self.rfile.read(int(self.headers.get('Content-Length', 0)))
        time.sleep(self.delay)
        self.send_response(self.status)
        self.send_header('Content-Length', str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


def serve(delay=0, status=200, body=b'True'):
    h = type('H', (Handler,), {'delay': delay, 'status': status, 'body': body})
    srv = socketserver.ThreadingTCPServer(('127.0.0.1', 0), h)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return 'http://127.0.0.1:%d/v1/oslo/check' % srv.server_address[1]


def full_port():
    """A port whose listener never accepts and whose queue is full, so
    that the kernel drops new SYNs."""
    ln = socket.socket()
    ln.bind(('127.0.0.1', 0))
    ln.listen(0)
    port = ln.getsockname()[1]
    fillers = []
    for _ in range(4):
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(('127.0.0.1', port))
        fillers.append(c)
    time.sleep(0.2)
    full_port.keep = (ln, fillers)
    return port


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--wait', type=float, default=20)
    ap.add_argument('--pdp')
    ap.add_argument('--n', type=int, default=300)
    ap.add_argument('--ca')
    ap.add_argument('--cert')
    ap.add_argument('--key')
    args = ap.parse_args()

    closed = socket.socket()
    closed.bind(('127.0.0.1', 0))
    refused_port = closed.getsockname()[1]
    closed.close()
    hung = socket.socket()
    hung.bind(('127.0.0.1', 0))
    hung.listen(16)  # accepted by the kernel, never read or answered

    scenarios = [] if args.pdp else [
        ('refused', 'http://127.0.0.1:%d/v1/oslo/check' % refused_port),
        ('hung', 'http://127.0.0.1:%d/v1/oslo/check' % hung.getsockname()[1]),
        ('slow-2s', serve(delay=2)),
        ('error-503', serve(status=503, body=b'False: no policy bundle is loaded')),
        ('no-syn-ack', 'http://127.0.0.1:%d/v1/oslo/check' % full_port()),
    ]
    for name, url in scenarios:
        print('%-10s %s' % (name, timed(enforcer(url), args.wait)), flush=True)

    if args.pdp:
        remote = {'remote_content_type': 'application/json'}
        if args.ca:
            remote.update(remote_ssl_verify_server_crt=True,
                          remote_ssl_ca_crt_file=args.ca)
        if args.cert:
            remote.update(remote_ssl_client_crt_file=args.cert,
                          remote_ssl_client_key_file=args.key)
        enf = enforcer(args.pdp, remote)
        local = enforcer('role:member and project_id:%(project_id)s')
        for name, e in (('local', local), ('via PDP', enf)):
            start = time.perf_counter()
            for _ in range(args.n):
                e.enforce('r', {'project_id': 'p1'},
                          {'roles': ['member'], 'project_id': 'p1'})
            per = (time.perf_counter() - start) / args.n
            print('%-10s %.1f µs per enforce() (%d calls)' % (name, per * 1e6, args.n))


if __name__ == '__main__':
    main()

#!/usr/bin/env python3
"""Records a real glance-api's answers to the listing queries.

Usage: record.py BASE_URL > results.jsonl

BASE_URL is a fresh glance-api of the peer kit (fakeauth pipeline, empty
state): the script creates the images of images.json through the v2 API
(first group, then a wait to the next whole second, whose time is T, then
the second group), then sends each query of queries.json as its caller and
prints one JSON line per query: the label, the status, and either the
listed images (by label, in order) with the "first" and "next" links, or
the error message. Image ids, T and the hashes are written back as their
placeholders, so that the lines do not depend on the run.
Standard library only.
"""
import hashlib
import http.client
import json
import os
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
BASE = urllib.parse.urlparse(sys.argv[1] if len(sys.argv) > 1 else 'http://127.0.0.1:19292')
FIXTURE = json.load(open(os.path.join(HERE, 'images.json')))
QUERIES = json.load(open(os.path.join(HERE, 'queries.json')))
PROJECTS = FIXTURE['projects']


def headers(caller, **extra):
    project, roles = FIXTURE['callers'][caller]
    h = {'X-Identity-Status': 'Confirmed', 'X-User-Id': 'u-' + caller,
         'X-Project-Id': PROJECTS[project], 'X-Roles': roles}
    h.update(extra)
    return h


def who(project, roles):
    return {'X-Identity-Status': 'Confirmed', 'X-User-Id': 'u-setup',
            'X-Project-Id': PROJECTS[project], 'X-Roles': roles}


def request(method, path, hdrs, body=None):
    c = http.client.HTTPConnection(BASE.hostname, BASE.port, timeout=30)
    h = dict(hdrs)
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        h.setdefault('Content-Type', 'application/json')
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def must(status, want, what, data):
    if status != want:
        sys.exit('%s: %d %s' % (what, status, data[:300]))


def create(img):
    owner = img['owner']
    admin = who(owner, 'admin')
    body = {'id': img['id'], 'visibility': img['visibility']}
    for k in ('name', 'disk_format', 'container_format', 'tags', 'protected', 'os_hidden', 'min_ram'):
        if k in img:
            body[k] = img[k]
    body.update(img.get('properties', {}))
    s, d = request('POST', '/v2/images', admin, body)
    must(s, 201, 'create ' + img['label'], d)
    if 'data' in img:
        s, d = request('PUT', '/v2/images/%s/file' % img['id'],
                       dict(admin, **{'Content-Type': 'application/octet-stream'}), img['data'].encode())
        must(s, 204, 'upload ' + img['label'], d)
    for project, status in img.get('members', {}).items():
        s, d = request('POST', '/v2/images/%s/members' % img['id'], admin, {'member': PROJECTS[project]})
        must(s, 200, 'add member ' + img['label'], d)
        if status != 'pending':
            s, d = request('PUT', '/v2/images/%s/members/%s' % (img['id'], PROJECTS[project]),
                           who(project, 'member'), {'status': status})
            must(s, 200, 'member status ' + img['label'], d)
    if img.get('deactivate'):
        s, d = request('POST', '/v2/images/%s/actions/deactivate' % img['id'], admin)
        must(s, 204, 'deactivate ' + img['label'], d)


def main():
    images = {}
    groups = FIXTURE['groups']
    for img in groups[0]:
        create(img)
        images[img['label']] = img
    # T: the next whole second; the first group was created before it,
    # the second at or after it.
    now = time.time()
    time.sleep(int(now) + 1 - now + 0.05)
    t = time.gmtime(int(now) + 1)
    T = time.strftime('%Y-%m-%dT%H:%M:%SZ', t)
    T1 = time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(int(now) + 1 + 3600)) + '+01:00'
    for img in groups[1]:
        create(img)
        images[img['label']] = img

    subst = {'{T}': T, '{T+0100}': urllib.parse.quote(T1, safe=':')}
    for p, v in PROJECTS.items():
        subst['{%s}' % p] = v
    for label, img in images.items():
        subst['{id:%s}' % label] = img['id']
        data = img.get('data', '').encode()
        subst['{md5:%s}' % label] = hashlib.md5(data).hexdigest()
        subst['{sha512:%s}' % label] = hashlib.sha512(data).hexdigest()
    # Links carry the query again, URL-encoded: put the placeholders back.
    back = [(urllib.parse.quote_plus(T1), '{T+0100}'), (urllib.parse.quote_plus(T), '{T}')]
    for label, img in images.items():
        back.append((img['id'], '{id:%s}' % label))
    by_id = {img['id']: label for label, img in images.items()}

    def restore(link):
        for value, placeholder in back:
            link = link.replace(value, placeholder)
        return link

    for label, caller, query in QUERIES:
        q = query
        for k, v in subst.items():
            q = q.replace(k, v)
        path = '/v2/images' + ('?' + q if q else '')
        s, d = request('GET', path, headers(caller))
        line = {'label': label, 'status': s}
        if s == 200:
            body = json.loads(d)
            line['images'] = [by_id.get(i['id'], i['id']) for i in body['images']]
            line['first'] = restore(body['first'])
            if 'next' in body:
                line['next'] = restore(body['next'])
        else:
            # webob's plain-text error: "400 Bad Request\n\n<message>\n\n   ".
            text = d.decode('utf-8', 'replace').strip()
            status_line, _, message = text.partition('\n')
            line['message'] = restore(message.strip())
        print(json.dumps(line, ensure_ascii=False))


main()

# Glance Zed's Range handling (glance/common/wsgi.py get_range_from_request and the
# image_data serializer's offsets), run with the peer's webob. Input: JSON lines
# {"range"?, "cr"?, "size"}; output: [status] or [206, offset, length].
import sys, json
sys.path.insert(0, sys.argv[1])
import webob.byterange as br
def glance(rng, cr, size):
    # glance/common/wsgi.py get_range_from_request + image_data serializer (Zed)
    try:
        if rng is not None:
            if ',' in rng: return [400]
            r = br.Range.parse(rng)
            if r is None: return [416]
            if r.start >= size: return [416]
            offset, chunk = 0, None
            if r.start >= 0: offset = r.start
            elif abs(r.start) < size: offset = size + r.start
            if r.end is not None and r.end < size: chunk = r.end - offset
            else: chunk = size - offset
            return [206, offset, chunk]
        if cr is not None:
            c = br.ContentRange.parse(cr)
            if c is None: return [416]
            if c.length is None and c.stop > size: return [416]
            if c.start >= size: return [416]
            return [206, c.start, c.stop - c.start]
        return [200]
    except Exception as e:
        return [500]
for line in sys.stdin:
    q = json.loads(line)
    print(json.dumps(glance(q.get('range'), q.get('cr'), q['size'])))

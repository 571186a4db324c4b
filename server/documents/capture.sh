#!/usr/bin/env bash
# Captures the schema documents a real Glance Zed serves, into this folder.
# Start the peer first: ../../../shared/glance-peer/setup-root.sh, then
# PORT=19292 ../../../shared/glance-peer/start.sh & (fakeauth: the identity
# headers below stand in for a token). The server embeds these files.
set -euo pipefail
cd "$(dirname "$0")"
url=${GLANCE_URL:-http://127.0.0.1:19292}
for s in image images member members task tasks \
  metadefs/namespace metadefs/namespaces metadefs/resource_type metadefs/resource_types \
  metadefs/property metadefs/properties metadefs/object metadefs/objects metadefs/tag metadefs/tags; do
  curl -sf -o "schemas_${s//\//_}.json" \
    -H 'X-Identity-Status: Confirmed' -H 'X-Roles: member' -H 'X-Project-Id: p1' -H 'X-User-Id: u1' \
    "$url/v2/schemas/$s"
done

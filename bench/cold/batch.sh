#!/bin/sh
# check --batch against oslo.policy as whole processes (issue 13 goal 4):
# N JSON Lines requests that do not repeat (every target has its own id)
# per real policy file, read on stdin, one answer line out each; process
# start and policy load included. The two run alternately, ROUNDS times
# each, in the same run; the answers must agree line by line.
# The decision memo is off (--decision-memo 0): the lines differ in their ids,
# which most rules never read, so a memo would answer them from earlier lines.
#
#   sh bench/cold/batch.sh                  # from the repository root
#   N=100000 POLICIES="nova neutron" sh bench/cold/batch.sh
set -eu
N=${N:-50000}
ROUNDS=${ROUNDS:-2}
POLICIES=${POLICIES:-"glance-legacy glance nova-legacy nova neutron keystone cinder"}
SHARED=${SHARED:-../shared/policies}
DIR=$(mktemp -d /tmp/oslorego-batch.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
go build -o "$DIR/cold" ./bench/cold
go build -o "$DIR/oslorego" ./cmd/oslorego
"$DIR/cold" gen -policies "$SHARED" -out "$DIR/req"

secs() { # prints the wall seconds of "$@" < $IN > $OUT
	start=$(date +%s.%N)
	"$@" < "$IN" > "$OUT"
	end=$(date +%s.%N)
	echo "$end - $start" | bc
}

echo "| policy file | lines | oslorego check --batch lines/s | oslo.policy lines/s | ratio |"
echo "|---|---:|---:|---:|---:|"
for p in $POLICIES; do
	file=$SHARED/$(echo "$p" | sed 's/-effective-legacy$/.effective-legacy/').json
	IN=$DIR/batch-$p.jsonl
	"$DIR/cold" batch -requests "$DIR/req/$p.jsonl" -n "$N" > "$IN"
	best_ours= best_theirs=
	for r in $(seq "$ROUNDS"); do
		for side in ours theirs; do
			if [ $((r % 2)) -eq 0 ]; then side=$([ $side = ours ] && echo theirs || echo ours); fi
			if [ $side = ours ]; then
				OUT=$DIR/ours.jsonl
				t=$(secs "$DIR/oslorego" check --batch --decision-memo 0 --policy "$file" || true)
				[ -z "$best_ours" ] || [ "$(echo "$t < $best_ours" | bc)" = 1 ] && best_ours=$t
			else
				OUT=$DIR/theirs.jsonl
				t=$(secs /usr/bin/python3 bench/oslo_bench.py --batch "$file" 2>/dev/null)
				[ -z "$best_theirs" ] || [ "$(echo "$t < $best_theirs" | bc)" = 1 ] && best_theirs=$t
			fi
		done
	done
	if ! cmp -s "$DIR/ours.jsonl" "$DIR/theirs.jsonl"; then
		/usr/bin/python3 -c 'import json,sys
a=[json.loads(l)["allowed"] for l in open(sys.argv[1])]
b=[json.loads(l)["allowed"] for l in open(sys.argv[2])]
bad=[i for i in range(max(len(a),len(b))) if i>=len(a) or i>=len(b) or a[i]!=b[i]]
sys.exit("%s: %d answers differ, first line %d" % (sys.argv[3], len(bad), bad[0]+1) if bad else 0)' "$DIR/ours.jsonl" "$DIR/theirs.jsonl" "$p"
	fi
	echo "| $(basename "$file") | $N | $(echo "$N / $best_ours" | bc) | $(echo "$N / $best_theirs" | bc) | $(echo "scale=2; $best_theirs / $best_ours" | bc) |"
done

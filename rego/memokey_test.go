package rego

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/oslorego/oslorego/translate/oslo"
)

// randomGo is a Go value from a small alphabet of look-alikes (1 as int,
// float64, json.Number "1" and "1.0", string "1"; nil, false, "", empty
// collections), so that random pairs often collide.
func randomGo(r *rand.Rand, depth int) any {
	leaves := []any{nil, false, true, "", "1", "a", 1, int64(1), uint64(1), 1.0, 1.5, json.Number("1"), json.Number("1.0"), []any{}, map[string]any{}, []string{"1"}, map[string]string{"a": "1"}, ast.String("1"), ast.Number("1")}
	if depth == 0 || r.IntN(3) > 0 {
		return leaves[r.IntN(len(leaves))]
	}
	if r.IntN(2) == 0 {
		out := make([]any, r.IntN(3))
		for i := range out {
			out[i] = randomGo(r, depth-1)
		}
		return out
	}
	out := map[string]any{}
	for range r.IntN(3) {
		out[[]string{"a", "b", "k"}[r.IntN(3)]] = randomGo(r, depth-1)
	}
	return out
}

// Two requests with the same memo key have the same input, value for
// value (number texts included): the key never equates requests the
// engine could tell apart.
func TestMemoKeyImpliesSameInput(t *testing.T) {
	l, err := oslo.ParseLayer("policy.json", []byte(`{"a": "k:%(k)s", "w": "x:%s"}`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := oslo.Build([]*oslo.Layer{l}, nil, oslo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(context.Background(), Policy(p))
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(13, 3))
	byKey := map[string]string{}
	same, distinct := 0, 0
	for range 20000 {
		req := Request{Rule: "a", Target: randomGo(r, 2), Credentials: randomGo(r, 2)}
		if r.IntN(4) == 0 {
			req.Target = map[string]any{"k": randomGo(r, 1), "z": randomGo(r, 1)}
		}
		fp := e.Footprint(req.Rule)
		key, ok := appendRequest(nil, req, fp)
		if !ok {
			t.Fatalf("%#v: not encoded", req)
		}
		in, err := e.Input(req)
		if err != nil {
			continue
		}
		enc, ok := appendValue(nil, in)
		if !ok {
			t.Fatalf("%v: input not encoded", in)
		}
		if prev, seen := byKey[string(key)]; seen {
			same++
			if prev != string(enc) {
				t.Fatalf("%#v: one key, two inputs:\n%q\n%q", req, prev, enc)
			}
			continue
		}
		distinct++
		byKey[string(key)] = string(enc)
	}
	if same < 1000 || distinct < 1000 {
		t.Errorf("%d repeated keys, %d distinct: the alphabet proves little", same, distinct)
	}
}

package rego

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/open-policy-agent/opa/v1/ast"
)

// DefaultMemoSize is the decision memo's default bound, in decisions. An
// entry is its key (the rule, the credentials and the target values the
// rule reads) and a Decision: about 520 bytes for a Glance decision with
// Keystone credentials (BenchmarkMemoEntryBytes), at most MaxMemoKey
// and change. 10,000 entries are about 5 MB per policy revision (45 MB
// at worst) and hold every repeated (caller, action, image attributes)
// combination of a busy deployment for minutes.
const DefaultMemoSize = 10000

// MemoStats counts what decision memos did. One MemoStats may be shared
// by the memos of successive engines (a server's bundle revisions), so
// that its counts only grow.
type MemoStats struct {
	// Hits are decisions answered from the memo; Misses decisions
	// evaluated and kept; Bypassed decisions the memo could not key
	// (the rule reads the target whole, the policy calls a builtin whose
	// answer can change, or the decision failed) and left to the engine.
	Hits, Misses, Bypassed atomic.Uint64
	// Evictions are decisions dropped to keep the bound.
	Evictions atomic.Uint64
}

// MemoOutcome is what the memo did for one decision.
type MemoOutcome uint8

const (
	// MemoOff: the memo is off (size 0); the engine decided.
	MemoOff MemoOutcome = iota
	// MemoBypass: the decision cannot be memoised; the engine decided.
	MemoBypass
	// MemoMiss: the engine decided, and the decision is now kept.
	MemoMiss
	// MemoHit: the decision is the one kept for the same input.
	MemoHit
)

// String is the outcome for logs: "off", "bypass", "miss" or "hit".
func (o MemoOutcome) String() string {
	return [...]string{"off", "bypass", "miss", "hit"}[o]
}

// Memo is an exact decision memo over one Engine: a bounded LRU map from
// what a decision is evaluated on to the decision. Decide's key is a
// canonical encoding of exactly the request values Engine.Input builds
// the input from (the rule, the credentials, the key order, and of the
// target only the keys the rule's Footprint names, present or absent),
// with Go types and numbers' literal text kept; DecideInput's is the
// input value itself. Two requests share an entry only when the engine
// would evaluate identical input, and the engine is a function of its
// input: the memo never changes a decision.
//
// Not memoised, and decided by the engine every time: rules whose
// footprint is Whole (they read the target dynamically), every rule of a
// policy that calls a builtin whose answer can change between calls
// (time.now_ns, http.send, rand.intn, ...), decisions that failed
// (Error set: a denial with a reason, kept out so that a transient
// failure is never repeated), errors of the engine itself (a cancelled
// context) and requests whose key is over MaxMemoKey.
//
// A Memo belongs to one engine: a new policy revision is a new engine
// and needs a new Memo, so no decision crosses revisions. It is safe for
// concurrent use.
type Memo struct {
	e     *Engine
	cache *lru.Cache[string, Decision] // nil when off or the policy is not memoisable
	stats *MemoStats
	// volatile names a builtin the policy calls whose answer can change.
	volatile string
	bufs     sync.Pool
}

// NewMemo returns a memo of at most size decisions over e; size 0 (or
// less) is a memo that is off. stats, which may be nil, counts its hits,
// misses, bypasses and evictions.
func NewMemo(e *Engine, size int, stats *MemoStats) *Memo {
	if stats == nil {
		stats = &MemoStats{}
	}
	m := &Memo{e: e, stats: stats, bufs: sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}}
	if size <= 0 {
		return m
	}
	if m.volatile = volatileBuiltin(e.compiler); m.volatile != "" {
		return m
	}
	// NewWithEvict fails only for a size below 1.
	m.cache, _ = lru.NewWithEvict(size, func(string, Decision) { stats.Evictions.Add(1) })
	return m
}

// Engine is the engine the memo decides with.
func (m *Memo) Engine() *Engine { return m.e }

// Volatile is the builtin that keeps the policy out of the memo, "" when
// none does.
func (m *Memo) Volatile() string { return m.volatile }

// Len is the number of decisions kept.
func (m *Memo) Len() int {
	if m.cache == nil {
		return 0
	}
	return m.cache.Len()
}

// Decide is Engine.Decide through the memo: the same decision, and what
// the memo did. The key is made from the request's own values, before
// any conversion to OPA's form (see appendRequest): a hit converts
// nothing.
func (m *Memo) Decide(ctx context.Context, req Request) (Decision, MemoOutcome, error) {
	var fp Footprint
	if m.cache != nil {
		fp = m.e.Footprint(req.Rule)
	}
	if m.cache == nil || fp.Whole {
		d, err := m.e.Decide(ctx, req)
		return d, m.bypass(), err
	}
	d, hit, key, ok := m.look(func(b []byte) ([]byte, bool) { return appendRequest(append(b, keyRequest), req, fp) })
	switch {
	case !ok:
		d, err := m.e.Decide(ctx, req)
		m.stats.Bypassed.Add(1)
		return d, MemoBypass, err
	case hit:
		m.stats.Hits.Add(1)
		return d, MemoHit, nil
	}
	in, err := m.e.Input(req)
	if err != nil {
		// As Engine.Decide: a target or credentials OPA cannot hold.
		m.stats.Bypassed.Add(1)
		return Decision{Rule: req.Rule, Error: err.Error()}, MemoBypass, nil
	}
	return m.evaluate(ctx, key, req.Rule, in)
}

// DecideInput is Engine.DecideInput through the memo, keyed on the whole
// of in (which may hold more of the target than rule's footprint) and
// rule.
func (m *Memo) DecideInput(ctx context.Context, rule string, in ast.Value) (Decision, MemoOutcome, error) {
	if m.cache == nil || m.e.Footprint(rule).Whole {
		d, err := m.e.DecideInput(ctx, rule, in)
		return d, m.bypass(), err
	}
	d, hit, key, ok := m.look(func(b []byte) ([]byte, bool) { return appendValue(appendString(append(b, keyInput), rule), in) })
	switch {
	case !ok:
		d, err := m.e.DecideInput(ctx, rule, in)
		m.stats.Bypassed.Add(1)
		return d, MemoBypass, err
	case hit:
		m.stats.Hits.Add(1)
		return d, MemoHit, nil
	}
	return m.evaluate(ctx, key, rule, in)
}

// MaxMemoKey bounds a memo key, in bytes: a request whose key (mostly its
// credentials and the target values its rule reads) is longer is not
// memoised, so that a memo of n decisions holds at most n×MaxMemoKey
// bytes of keys.
const MaxMemoKey = 4096

// Keys start with how they were made: from a Request's Go values or from
// an input value.
const (
	keyRequest = 'R'
	keyInput   = 'I'
)

// look writes a key with enc, in a pooled buffer, and looks it up: the
// decision kept (hit), or on a miss the key to keep the decision under.
// ok is false when there is no key: enc could not write one, or it is
// over MaxMemoKey.
func (m *Memo) look(enc func([]byte) ([]byte, bool)) (d Decision, hit bool, key string, ok bool) {
	bp := m.bufs.Get().(*[]byte)
	defer m.bufs.Put(bp)
	b, ok := enc((*bp)[:0])
	*bp = b[:0]
	if !ok || len(b) > MaxMemoKey {
		return Decision{}, false, "", false
	}
	// Get keeps no reference to its key: a view of the buffer spares a
	// hit the copy (and so any allocation).
	if d, hit = m.cache.Get(unsafe.String(unsafe.SliceData(b), len(b))); hit {
		return d, true, "", true
	}
	return Decision{}, false, string(b), true
}

// evaluate decides in and keeps the decision under key unless it failed.
func (m *Memo) evaluate(ctx context.Context, key, rule string, in ast.Value) (Decision, MemoOutcome, error) {
	d, err := m.e.DecideInput(ctx, rule, in)
	if err != nil || d.Error != "" || ctx.Err() != nil {
		m.stats.Bypassed.Add(1)
		return d, MemoBypass, err
	}
	m.cache.Add(key, d)
	m.stats.Misses.Add(1)
	return d, MemoMiss, nil
}

func (m *Memo) bypass() MemoOutcome {
	if m.cache == nil && m.volatile == "" {
		return MemoOff
	}
	m.stats.Bypassed.Add(1)
	return MemoBypass
}

// Canonical encoding: a tag byte, then for scalars the length-prefixed
// text (a number's literal text: 1 and 1.0 are different keys, as
// Python prints them differently) and for collections the count and the
// members. Length prefixes make it injective: equal encodings are equal
// values, member for member.
const (
	tagNull   = 'z'
	tagFalse  = 'f'
	tagTrue   = 't'
	tagNumber = 'n'
	tagString = 's'
	tagArray  = 'a'
	tagObject = 'o'
)

// appendValue appends v's encoding to b. It reports false for a value
// it does not encode canonically (a set, an object with a non-string
// key, anything not JSON): such an input is not memoised.
func appendValue(b []byte, v ast.Value) ([]byte, bool) {
	switch x := v.(type) {
	case ast.Null:
		return append(b, tagNull), true
	case ast.Boolean:
		if x {
			return append(b, tagTrue), true
		}
		return append(b, tagFalse), true
	case ast.Number:
		b = append(b, tagNumber)
		b = binary.AppendUvarint(b, uint64(len(x)))
		return append(b, x...), true
	case ast.String:
		return appendString(b, string(x)), true
	case *ast.Array:
		b = append(b, tagArray)
		b = binary.AppendUvarint(b, uint64(x.Len()))
		ok := true
		for i := 0; ok && i < x.Len(); i++ {
			b, ok = appendValue(b, x.Elem(i).Value)
		}
		return b, ok
	case ast.Object:
		b = append(b, tagObject)
		b = binary.AppendUvarint(b, uint64(x.Len()))
		// Members in key order (Foreach's), checked strictly increasing:
		// the order is canonical only if no two keys tie.
		ok, prev, first := true, ast.String(""), true
		x.Foreach(func(k, val *ast.Term) {
			s, isStr := k.Value.(ast.String)
			if !ok || !isStr || (!first && s <= prev) {
				ok = false
				return
			}
			prev, first = s, false
			b = appendString(b, string(s))
			b, ok = appendValue(b, val.Value)
		})
		return b, ok
	}
	return b, false
}

func appendString(b []byte, s string) []byte { return appendText(b, tagString, s) }

// Tags of Go values (appendGo), one per Go type, none shared with the
// tags of OPA values: a key never equates two Go values of different
// types, even where OPA would (int 1 and json.Number "1"), which costs
// a miss, never a wrong hit.
const (
	goNil       = 'Z'
	goFalse     = 'F'
	goTrue      = 'T'
	goString    = 'S'
	goJSONNum   = 'J'
	goInt       = 'I'
	goInt64     = 'L'
	goUint64    = 'U'
	goFloat64   = 'D'
	goSlice     = 'A'
	goStrings   = 'Q'
	goMap       = 'M'
	goStringMap = 'P'
	goAbsent    = 'X'
	goOPA       = 'V'
	goNoOrder   = '0'
)

// appendRequest appends the encoding of everything of req that
// Engine.Input reads for a rule with footprint fp (not Whole): the rule,
// the credentials, the key order trees, and of an object target only the
// members fp names (absent ones marked absent); any other target whole.
// Equal encodings are equal Go values there, which Engine.Input turns
// into equal input: the engine decides them alike.
func appendRequest(b []byte, req Request, fp Footprint) ([]byte, bool) {
	b = appendString(b, req.Rule)
	t, c := plain(orEmpty(req.Target)), plain(orEmpty(req.Credentials))
	ok := true
	// As inputValue: a nil list of keys keeps the whole target.
	if obj, isMap := t.Value.(map[string]any); isMap && fp.Target != nil {
		b = append(b, goMap)
		b = binary.AppendUvarint(b, uint64(len(fp.Target)))
		for _, k := range fp.Target {
			v, present := obj[k]
			if !present {
				b = append(b, goAbsent)
				continue
			}
			b = appendString(b, k)
			if b, ok = appendGo(b, v); !ok {
				return b, false
			}
		}
	} else if b, ok = appendGo(b, t.Value); !ok {
		return b, false
	}
	if b, ok = appendGo(b, c.Value); !ok {
		return b, false
	}
	for _, order := range []ast.Object{t.order, c.order} {
		if order == nil {
			b = append(b, goNoOrder)
			continue
		}
		if b, ok = appendValue(b, order); !ok {
			return b, false
		}
	}
	return b, true
}

// appendGo appends a Go value's encoding, for the types that
// ast.InterfaceToValue converts without a JSON round trip; it reports
// false for any other (not memoised).
func appendGo(b []byte, v any) ([]byte, bool) {
	switch x := v.(type) {
	case nil:
		return append(b, goNil), true
	case bool:
		if x {
			return append(b, goTrue), true
		}
		return append(b, goFalse), true
	case string:
		return appendText(b, goString, x), true
	case json.Number:
		return appendText(b, goJSONNum, string(x)), true
	case int:
		return binary.AppendVarint(append(b, goInt), int64(x)), true
	case int64:
		return binary.AppendVarint(append(b, goInt64), x), true
	case uint64:
		return binary.AppendUvarint(append(b, goUint64), x), true
	case float64:
		return binary.BigEndian.AppendUint64(append(b, goFloat64), math.Float64bits(x)), true
	case []any:
		b = binary.AppendUvarint(append(b, goSlice), uint64(len(x)))
		ok := true
		for _, e := range x {
			if b, ok = appendGo(b, e); !ok {
				return b, false
			}
		}
		return b, true
	case []string:
		b = binary.AppendUvarint(append(b, goStrings), uint64(len(x)))
		for _, e := range x {
			b = appendText(b, goString, e)
		}
		return b, true
	case map[string]any:
		return appendMap(b, x)
	case map[string]string:
		keys := sortedKeys(make([]string, 0, len(x)), x)
		b = binary.AppendUvarint(append(b, goStringMap), uint64(len(keys)))
		for _, k := range keys {
			b = appendText(appendText(b, goString, k), goString, x[k])
		}
		return b, true
	case ast.Value:
		return appendValue(append(b, goOPA), x)
	}
	return b, false
}

// appendMap appends a map's members in key order. Up to smallMap keys
// are sorted in an array on the stack, where swaps need no write
// barrier: credentials are sorted on every decision.
func appendMap(b []byte, m map[string]any) ([]byte, bool) {
	var keys []string
	var small [smallMap]string
	if len(m) <= smallMap {
		n := 0
		for k := range m {
			small[n] = k
			n++
		}
		for i := 1; i < n; i++ {
			for j := i; j > 0 && small[j] < small[j-1]; j-- {
				small[j], small[j-1] = small[j-1], small[j]
			}
		}
		keys = small[:n]
	} else {
		keys = sortedKeys(make([]string, 0, len(m)), m)
	}
	b = binary.AppendUvarint(append(b, goMap), uint64(len(keys)))
	ok := true
	for _, k := range keys {
		b = appendText(b, goString, k)
		if b, ok = appendGo(b, m[k]); !ok {
			return b, false
		}
	}
	return b, true
}

const smallMap = 16

func appendText(b []byte, tag byte, s string) []byte {
	b = binary.AppendUvarint(append(b, tag), uint64(len(s)))
	return append(b, s...)
}

// sortedKeys appends m's keys to keys, sorted.
func sortedKeys[V any](keys []string, m map[string]V) []string {
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// nowDependent are builtins whose answer depends on the clock but which
// OPA does not mark nondeterministic.
var nowDependent = map[string]bool{
	"crypto.x509.parse_and_verify_certificates":              true,
	"crypto.x509.parse_and_verify_certificates_with_options": true,
}

// volatileBuiltin is a builtin the compiled modules call whose answer can
// change from one call to the next with the same arguments (OPA's
// Nondeterministic ones, the clock's), "" when there is none. The whole
// policy is checked, not what one rule reaches: simple, and errs on the
// side of not memoising.
func volatileBuiltin(c *ast.Compiler) string {
	found := ""
	for _, m := range c.Modules {
		ast.WalkRefs(m, func(r ast.Ref) bool {
			if found != "" {
				return true
			}
			name := r.String()
			if b := ast.BuiltinMap[name]; (b != nil && b.Nondeterministic) || nowDependent[name] {
				found = name
			}
			return false
		})
		if found != "" {
			break
		}
	}
	return found
}

package policyfile

import (
	"fmt"
	"math"
	"math/big"
	"strconv"

	"github.com/oslorego/oslorego/internal/python"
)

// pyObj models the Python object graph that json.loads / yaml.safe_load
// build. Containers are pointers so that YAML aliases share objects and
// the constructor can fill collections after creating them, exactly like
// PyYAML's two-step (generator) constructors.
type pyObj struct {
	kind  pyKind
	b     bool
	i     *big.Int
	f     float64
	s     string // str (generalized UTF-8) or raw bytes
	dt    *pyDatetime
	items []*pyObj // list, tuple, set (members)
	pos   []pos    // positions of items
	dict  *pydict
}

type pyKind uint8

const (
	pyNone pyKind = iota
	pyBool
	pyInt
	pyFloat
	pyStr
	pyBytes
	pyDate
	pyDatetimeKind
	pyList
	pyTuple
	pyDict
	pySet
)

type dictEntry struct {
	key, val   *pyObj
	keyPos     pos // position of the first occurrence of the key
	valPos     pos // position of the last value
	lastKeyPos pos // position of the last occurrence of the key
}

type pydict struct {
	entries []dictEntry
	index   map[string]int
}

func newDict() *pydict { return &pydict{index: map[string]int{}} }

// newStrDict is a JSON object's dict: its keys are strings, found by a
// scan while it is small (no index map, no key hash per member).
func newStrDict() *pydict { return &pydict{} }

// smallStrDict is how many string keys a dict without an index scans.
const smallStrDict = 16

// set stores key -> val with Python dict semantics: an existing equal key
// keeps its key object and position, and gets the new value.
func (d *pydict) set(key, val *pyObj, keyPos, valPos pos) error {
	if d.index == nil {
		// Every key so far is a str; a str equals only a str of the same
		// text (hashKey's "s" + text).
		if key.kind == pyStr && len(d.entries) < smallStrDict {
			for i := range d.entries {
				if d.entries[i].key.s == key.s {
					d.entries[i].val, d.entries[i].valPos, d.entries[i].lastKeyPos = val, valPos, keyPos
					return nil
				}
			}
			d.entries = append(d.entries, dictEntry{key: key, val: val, keyPos: keyPos, valPos: valPos, lastKeyPos: keyPos})
			return nil
		}
		d.index = make(map[string]int, len(d.entries)+1)
		for i, e := range d.entries {
			d.index["s"+e.key.s] = i
		}
	}
	h, err := hashKey(key)
	if err != nil {
		return err
	}
	if i, ok := d.index[h]; ok {
		d.entries[i].val = val
		d.entries[i].valPos = valPos
		d.entries[i].lastKeyPos = keyPos
		return nil
	}
	d.index[h] = len(d.entries)
	d.entries = append(d.entries, dictEntry{key: key, val: val, keyPos: keyPos, valPos: valPos, lastKeyPos: keyPos})
	return nil
}

var errUnhashable = fmt.Errorf("unhashable key")

// hashKey returns a string that is equal for two objects iff Python
// considers them the same dict key (hash and ==).
func hashKey(o *pyObj) (string, error) {
	switch o.kind {
	case pyNone:
		return "N", nil
	case pyBool:
		if o.b {
			return "i1", nil
		}
		return "i0", nil
	case pyInt:
		return "i" + o.i.String(), nil
	case pyFloat:
		f := o.f
		switch {
		case math.IsNaN(f):
			// NaN != NaN, but a dict finds a key by identity first.
			return fmt.Sprintf("nan%p", o), nil
		case math.IsInf(f, 1):
			return "f+inf", nil
		case math.IsInf(f, -1):
			return "f-inf", nil
		case f == math.Trunc(f):
			bf := new(big.Float).SetFloat64(f)
			bi, _ := bf.Int(nil)
			return "i" + bi.String(), nil
		default:
			return "f" + strconv.FormatUint(math.Float64bits(f), 16), nil
		}
	case pyStr:
		return "s" + o.s, nil
	case pyBytes:
		return "b" + o.s, nil
	case pyDate:
		return "d" + o.dt.dateKey(), nil
	case pyDatetimeKind:
		return o.dt.datetimeKey(), nil
	}
	return "", errUnhashable
}

func truthy(o *pyObj) bool {
	switch o.kind {
	case pyNone:
		return false
	case pyBool:
		return o.b
	case pyInt:
		return o.i.Sign() != 0
	case pyFloat:
		return o.f != 0 // NaN != 0 is true
	case pyStr, pyBytes:
		return o.s != ""
	case pyList, pyTuple, pySet:
		return len(o.items) > 0
	case pyDict:
		return len(o.dict.entries) > 0
	}
	return true
}

func pyTypeName(o *pyObj) string {
	switch o.kind {
	case pyNone:
		return "NoneType"
	case pyBool:
		return "bool"
	case pyInt:
		return "int"
	case pyFloat:
		return "float"
	case pyStr:
		return "str"
	case pyBytes:
		return "bytes"
	case pyDate:
		return "datetime.date"
	case pyDatetimeKind:
		return "datetime.datetime"
	case pyList:
		return "list"
	case pyTuple:
		return "tuple"
	case pyDict:
		return "dict"
	case pySet:
		return "set"
	}
	return "object"
}

func typeDesc(o *pyObj) string {
	switch o.kind {
	case pyList, pyTuple, pySet:
		return "a list"
	case pyStr:
		return "a string"
	}
	return "a " + pyTypeName(o)
}

// converter turns a pyObj graph into Values. Shared objects are converted
// once and share their Items/Pairs; a cycle (a recursive YAML structure,
// which Python can build but a Value tree cannot hold) is an error.
type converter struct {
	done   map[*pyObj]Value
	active map[*pyObj]bool
	// tree: every object is reached once (JSON has no aliases), so
	// neither sharing nor cycles need tracking.
	tree bool
}

func newConverter() *converter {
	return &converter{done: map[*pyObj]Value{}, active: map[*pyObj]bool{}}
}

// newTreeConverter converts what parseJSON built: a tree.
func newTreeConverter() *converter { return &converter{tree: true} }

func (c *converter) value(o *pyObj, p pos) (Value, *Error) {
	if c.tree {
		return c.convert(o, p)
	}
	if v, ok := c.done[o]; ok {
		v.Line, v.Col = p.line, p.col
		return v, nil
	}
	if c.active[o] {
		return Value{}, &Error{Line: p.line, Col: p.col,
			Msg: "recursive structure (an alias inside its own anchored node) is not supported"}
	}
	c.active[o] = true
	v, err := c.convert(o, p)
	delete(c.active, o)
	if err != nil {
		return Value{}, err
	}
	c.done[o] = v
	return v, nil
}

// convert is one object's Value, its elements through value.
func (c *converter) convert(o *pyObj, p pos) (Value, *Error) {
	v := Value{Truthy: truthy(o), Line: p.line, Col: p.col}
	switch o.kind {
	case pyNone:
		v.Kind, v.Str = Null, "None"
	case pyBool:
		v.Kind, v.Str = Bool, "False"
		if o.b {
			v.Str = "True"
		}
	case pyInt:
		v.Kind, v.Str = Int, o.i.String()
	case pyFloat:
		v.Kind, v.Str = Float, python.FloatRepr(o.f)
	case pyStr:
		v.Kind, v.Str = String, o.s
	case pyBytes:
		v.Kind, v.Str = Other, python.BytesRepr([]byte(o.s))
		v.Items = make([]Value, len(o.s))
		for i := 0; i < len(o.s); i++ {
			v.Items[i] = Value{Kind: Int, Str: strconv.Itoa(int(o.s[i])), Truthy: o.s[i] != 0, Line: p.line, Col: p.col}
		}
	case pyDate, pyDatetimeKind:
		v.Kind, v.Str, v.pystr = Other, o.dt.repr(), o.dt.str()
	case pyList, pyTuple, pySet:
		v.Kind = List
		v.Items = make([]Value, len(o.items))
		for i, it := range o.items {
			iv, err := c.value(it, o.pos[i])
			if err != nil {
				return Value{}, err
			}
			v.Items[i] = iv
		}
	case pyDict:
		v.Kind = Map
		v.Pairs = make([]Pair, len(o.dict.entries))
		for i, e := range o.dict.entries {
			kv, err := c.value(e.key, e.keyPos)
			if err != nil {
				return Value{}, err
			}
			vv, err := c.value(e.val, e.valPos)
			if err != nil {
				return Value{}, err
			}
			v.Pairs[i] = Pair{kv, vv}
		}
	}
	return v, nil
}

// pyStrOf returns Python str() of a hashable value (a dict key).
func pyStrOf(v Value) string {
	if v.pystr != "" {
		return v.pystr
	}
	return v.Str
}

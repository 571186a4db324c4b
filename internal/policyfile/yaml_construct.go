// Ported from PyYAML 6.0 lib/yaml/constructor.py SafeConstructor (MIT License); see NOTICE.

package policyfile

import (
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"

	"github.com/oslorego/oslorego/internal/python"
)

// ---- constructor.py (BaseConstructor + SafeConstructor) ----

// constructor mirrors SafeConstructor. Collections are created empty and
// filled later by "state generators", in the same order as PyYAML runs
// its generator-based constructors, because flatten_mapping mutates shared
// nodes and the order can be observed.
type constructor struct {
	constructed map[*node]*pyObj
	recursive   map[*node]bool
	generators  []func() *yamlError
	// nanValue is SafeConstructor.nan_value: every `.nan` is this one
	// object, so two `.nan` keys are the same dict key.
	nanValue *pyObj
}

func newConstructor() *constructor {
	return &constructor{
		constructed: map[*node]*pyObj{},
		recursive:   map[*node]bool{},
		nanValue:    &pyObj{kind: pyFloat, f: math.NaN()},
	}
}

func (c *constructor) constructDocument(n *node) (*pyObj, *yamlError) {
	data, err := c.constructObject(n)
	if err != nil {
		return nil, err
	}
	for len(c.generators) > 0 {
		gens := c.generators
		c.generators = nil
		for _, g := range gens {
			if err := g(); err != nil {
				return nil, err
			}
		}
	}
	return data, nil
}

func constructorErr(context string, contextMark mark, problem string, problemMark mark) *yamlError {
	return markErr(context, contextMark, problem, problemMark)
}

func (c *constructor) constructObject(n *node) (*pyObj, *yamlError) {
	if o, ok := c.constructed[n]; ok {
		return o, nil
	}
	if c.recursive[n] {
		return nil, problemErr("found unconstructable recursive node", n.start)
	}
	c.recursive[n] = true
	var data *pyObj
	var fill func() *yamlError
	var err *yamlError
	switch n.tag {
	case tagNull:
		if _, err = c.constructScalar(n, 0); err == nil {
			data = &pyObj{kind: pyNone}
		}
	case tagBool:
		data, err = c.constructYAMLBool(n)
	case tagInt:
		data, err = c.constructYAMLInt(n)
	case tagFloat:
		data, err = c.constructYAMLFloat(n)
	case tagBinary:
		data, err = c.constructYAMLBinary(n)
	case tagTimestamp:
		data, err = c.constructYAMLTimestamp(n)
	case tagStr:
		var s string
		if s, err = c.constructScalar(n, 0); err == nil {
			data = &pyObj{kind: pyStr, s: s}
		}
	case tagOmap, tagPairs:
		data = &pyObj{kind: pyList}
		fill = func() *yamlError { return c.fillYAMLPairs(n, data) }
	case tagSet:
		data = &pyObj{kind: pySet}
		fill = func() *yamlError { return c.fillYAMLSet(n, data) }
	case tagSeq:
		data = &pyObj{kind: pyList}
		fill = func() *yamlError { return c.fillYAMLSeq(n, data) }
	case tagMap:
		data = &pyObj{kind: pyDict, dict: newDict()}
		fill = func() *yamlError { return c.fillYAMLMap(n, data) }
	default:
		err = problemErr(fmt.Sprintf("could not determine a constructor for the tag %s", python.StrReprWTF8(n.tag)), n.start)
	}
	if err != nil {
		return nil, err
	}
	if fill != nil {
		c.generators = append(c.generators, fill)
	}
	c.constructed[n] = data
	delete(c.recursive, n)
	return data, nil
}

// constructScalar is SafeConstructor.construct_scalar: a mapping with a
// `=` (tag:yaml.org,2002:value) key stands for that key's value.
func (c *constructor) constructScalar(n *node, depth int) (string, *yamlError) {
	if depth > yamlMaxDepth {
		return "", problemErr("maximum recursion depth exceeded (RecursionError in construct_scalar)", n.start)
	}
	if n.kind == nMapping {
		for _, p := range n.pairs {
			if p.k.n.tag == tagValue {
				return c.constructScalar(p.v.n, depth+1)
			}
		}
	}
	if n.kind != nScalar {
		return "", problemErr(fmt.Sprintf("expected a scalar node, but found %s", n.kind.id()), n.start)
	}
	return n.value, nil
}

func (c *constructor) flattenMapping(n *node) *yamlError {
	var merge []npair
	index := 0
	for index < len(n.pairs) {
		keyNode, valueNode := n.pairs[index].k.n, n.pairs[index].v.n
		switch keyNode.tag {
		case tagMerge:
			n.pairs = append(n.pairs[:index:index], n.pairs[index+1:]...)
			switch valueNode.kind {
			case nMapping:
				if err := c.flattenMapping(valueNode); err != nil {
					return err
				}
				merge = append(merge, valueNode.pairs...)
			case nSequence:
				var submerge [][]npair
				for _, sub := range valueNode.items {
					if sub.n.kind != nMapping {
						return constructorErr("while constructing a mapping", n.start,
							fmt.Sprintf("expected a mapping for merging, but found %s", sub.n.kind.id()), sub.n.start)
					}
					if err := c.flattenMapping(sub.n); err != nil {
						return err
					}
					submerge = append(submerge, sub.n.pairs)
				}
				for i := len(submerge) - 1; i >= 0; i-- {
					merge = append(merge, submerge[i]...)
				}
			default:
				return constructorErr("while constructing a mapping", n.start,
					fmt.Sprintf("expected a mapping or list of mappings for merging, but found %s", valueNode.kind.id()), valueNode.start)
			}
		case tagValue:
			keyNode.tag = tagStr
			index++
		default:
			index++
		}
	}
	if len(merge) > 0 {
		n.pairs = append(merge[:len(merge):len(merge)], n.pairs...)
	}
	return nil
}

// constructMapping is SafeConstructor.construct_mapping: it builds a dict
// (with positions) from a mapping node.
func (c *constructor) constructMapping(n *node) (*pydict, *yamlError) {
	if n.kind == nMapping {
		if err := c.flattenMapping(n); err != nil {
			return nil, err
		}
	}
	if n.kind != nMapping {
		return nil, problemErr(fmt.Sprintf("expected a mapping node, but found %s", n.kind.id()), n.start)
	}
	d := newDict()
	for _, p := range n.pairs {
		key, err := c.constructObject(p.k.n)
		if err != nil {
			return nil, err
		}
		if _, herr := hashKey(key); herr != nil {
			return nil, constructorErr("while constructing a mapping", n.start, "found unhashable key", p.k.n.start)
		}
		value, err := c.constructObject(p.v.n)
		if err != nil {
			return nil, err
		}
		_ = d.set(key, value, markPos(p.k.at), markPos(p.v.at))
	}
	return d, nil
}

func (c *constructor) fillYAMLMap(n *node, data *pyObj) *yamlError {
	d, err := c.constructMapping(n)
	if err != nil {
		return err
	}
	for _, e := range d.entries {
		// dict.update: same order, same last-wins rule. Positions: the
		// entry already has first key / last value / last key.
		if i, ok := data.dict.index[mustHash(e.key)]; ok {
			data.dict.entries[i].val = e.val
			data.dict.entries[i].valPos = e.valPos
			data.dict.entries[i].lastKeyPos = e.lastKeyPos
			continue
		}
		data.dict.index[mustHash(e.key)] = len(data.dict.entries)
		data.dict.entries = append(data.dict.entries, e)
	}
	return nil
}

func mustHash(o *pyObj) string {
	h, _ := hashKey(o)
	return h
}

func (c *constructor) fillYAMLSet(n *node, data *pyObj) *yamlError {
	d, err := c.constructMapping(n)
	if err != nil {
		return err
	}
	for _, e := range d.entries {
		data.items = append(data.items, e.key)
		data.pos = append(data.pos, e.keyPos)
	}
	return nil
}

func (c *constructor) fillYAMLSeq(n *node, data *pyObj) *yamlError {
	if n.kind != nSequence {
		return problemErr(fmt.Sprintf("expected a sequence node, but found %s", n.kind.id()), n.start)
	}
	items := make([]*pyObj, 0, len(n.items))
	poss := make([]pos, 0, len(n.items))
	for _, r := range n.items {
		o, err := c.constructObject(r.n)
		if err != nil {
			return err
		}
		items = append(items, o)
		poss = append(poss, markPos(r.at))
	}
	data.items = append(data.items, items...)
	data.pos = append(data.pos, poss...)
	return nil
}

// fillYAMLPairs is construct_yaml_omap / construct_yaml_pairs (identical).
func (c *constructor) fillYAMLPairs(n *node, data *pyObj) *yamlError {
	what := "an ordered map"
	if n.tag == tagPairs {
		what = "pairs"
	}
	if n.kind != nSequence {
		return constructorErr("while constructing "+what, n.start,
			fmt.Sprintf("expected a sequence, but found %s", n.kind.id()), n.start)
	}
	for _, sub := range n.items {
		if sub.n.kind != nMapping {
			return constructorErr("while constructing "+what, n.start,
				fmt.Sprintf("expected a mapping of length 1, but found %s", sub.n.kind.id()), sub.n.start)
		}
		if len(sub.n.pairs) != 1 {
			return constructorErr("while constructing "+what, n.start,
				fmt.Sprintf("expected a single mapping item, but found %d items", len(sub.n.pairs)), sub.n.start)
		}
		kr, vr := sub.n.pairs[0].k, sub.n.pairs[0].v
		key, err := c.constructObject(kr.n)
		if err != nil {
			return err
		}
		value, err := c.constructObject(vr.n)
		if err != nil {
			return err
		}
		data.items = append(data.items, &pyObj{kind: pyTuple, items: []*pyObj{key, value}, pos: []pos{markPos(kr.at), markPos(vr.at)}})
		data.pos = append(data.pos, markPos(sub.at))
	}
	return nil
}

func valueErr(n *node, msg string) *yamlError {
	return problemErr(msg, n.start)
}

var boolValues = map[string]bool{"yes": true, "no": false, "true": true, "false": false, "on": true, "off": false}

func (c *constructor) constructYAMLBool(n *node) (*pyObj, *yamlError) {
	value, err := c.constructScalar(n, 0)
	if err != nil {
		return nil, err
	}
	key := python.Lower(value)
	b, ok := boolValues[key]
	if !ok {
		return nil, valueErr(n, fmt.Sprintf("KeyError: %s", python.StrReprWTF8(key)))
	}
	return &pyObj{kind: pyBool, b: b}, nil
}

func (c *constructor) constructYAMLInt(n *node) (*pyObj, *yamlError) {
	value, err := c.constructScalar(n, 0)
	if err != nil {
		return nil, err
	}
	value = strings.ReplaceAll(value, "_", "")
	if value == "" {
		return nil, valueErr(n, "IndexError: string index out of range")
	}
	sign := 1
	if value[0] == '-' {
		sign = -1
	}
	if value[0] == '+' || value[0] == '-' {
		value = value[1:]
	}
	var v *big.Int
	var perr error
	switch {
	case value == "0":
		v = new(big.Int)
	case strings.HasPrefix(value, "0b"):
		v, perr = pyIntParse(value[2:], 2)
	case strings.HasPrefix(value, "0x"):
		v, perr = pyIntParse(value[2:], 16)
	case value == "":
		return nil, valueErr(n, "IndexError: string index out of range")
	case value[0] == '0':
		v, perr = pyIntParse(value, 8)
	case strings.Contains(value, ":"):
		parts := strings.Split(value, ":")
		v = new(big.Int)
		base := big.NewInt(1)
		sixty := big.NewInt(60)
		for i := len(parts) - 1; i >= 0; i-- {
			d, e := pyIntParse(parts[i], 10)
			if e != nil {
				return nil, valueErr(n, "ValueError: "+e.Error())
			}
			v.Add(v, new(big.Int).Mul(d, base))
			base.Mul(base, sixty)
		}
	default:
		v, perr = pyIntParse(value, 10)
	}
	if perr != nil {
		return nil, valueErr(n, "ValueError: "+perr.Error())
	}
	if sign < 0 {
		v = new(big.Int).Neg(v)
	}
	return &pyObj{kind: pyInt, i: v}, nil
}

func (c *constructor) constructYAMLFloat(n *node) (*pyObj, *yamlError) {
	value, err := c.constructScalar(n, 0)
	if err != nil {
		return nil, err
	}
	value = python.Lower(strings.ReplaceAll(value, "_", ""))
	if value == "" {
		return nil, valueErr(n, "IndexError: string index out of range")
	}
	sign := 1.0
	if value[0] == '-' {
		sign = -1
	}
	if value[0] == '+' || value[0] == '-' {
		value = value[1:]
	}
	switch {
	case value == ".inf":
		return &pyObj{kind: pyFloat, f: sign * math.Inf(1)}, nil
	case value == ".nan":
		return c.nanValue, nil
	case strings.Contains(value, ":"):
		parts := strings.Split(value, ":")
		for _, part := range parts {
			if _, e := pyFloatParse(part); e != nil {
				return nil, valueErr(n, "ValueError: "+e.Error())
			}
		}
		if len(parts) > 174 {
			// digit*base with base = 60**174 (a Python int) overflows.
			return nil, valueErr(n, "OverflowError: int too large to convert to float")
		}
		v, base := 0.0, 1.0
		for i := len(parts) - 1; i >= 0; i-- {
			d, _ := pyFloatParse(parts[i])
			v += d * base
			base *= 60
		}
		return &pyObj{kind: pyFloat, f: sign * v}, nil
	}
	f, e := pyFloatParse(value)
	if e != nil {
		return nil, valueErr(n, "ValueError: "+e.Error())
	}
	return &pyObj{kind: pyFloat, f: sign * f}, nil
}

func (c *constructor) constructYAMLBinary(n *node) (*pyObj, *yamlError) {
	value, err := c.constructScalar(n, 0)
	if err != nil {
		return nil, err
	}
	for _, r := range value {
		if r >= 0x80 {
			return nil, problemErr("failed to convert base64 data into ascii: 'ascii' codec can't encode character", n.start)
		}
	}
	b, e := a2bBase64(value)
	if e != "" {
		return nil, problemErr("failed to decode base64 data: "+e, n.start)
	}
	return &pyObj{kind: pyBytes, s: string(b)}, nil
}

// a2bBase64 is binascii.a2b_base64(data, strict_mode=False) (CPython 3.11),
// which base64.decodebytes calls: characters outside the alphabet are
// skipped, padding ends the data.
func a2bBase64(s string) ([]byte, string) {
	var out []byte
	quadPos, pads := 0, 0
	var leftchar byte
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch == '=' {
			if quadPos >= 2 {
				pads++
				if quadPos+pads >= 4 {
					return out, ""
				}
			}
			continue
		}
		var v byte
		switch {
		case ch >= 'A' && ch <= 'Z':
			v = ch - 'A'
		case ch >= 'a' && ch <= 'z':
			v = ch - 'a' + 26
		case ch >= '0' && ch <= '9':
			v = ch - '0' + 52
		case ch == '+':
			v = 62
		case ch == '/':
			v = 63
		default:
			continue
		}
		pads = 0
		switch quadPos {
		case 0:
			quadPos = 1
			leftchar = v
		case 1:
			quadPos = 2
			out = append(out, leftchar<<2|v>>4)
			leftchar = v & 0x0f
		case 2:
			quadPos = 3
			out = append(out, leftchar<<4|v>>2)
			leftchar = v & 0x03
		case 3:
			quadPos = 0
			out = append(out, leftchar<<6|v)
			leftchar = 0
		}
	}
	if quadPos != 0 {
		if quadPos == 1 {
			return nil, fmt.Sprintf("Invalid base64-encoded string: number of data characters (%d) cannot be 1 more than a multiple of 4", len(out)/3*4+1)
		}
		return nil, "Incorrect padding"
	}
	return out, ""
}

var timestampRegexp = regexp.MustCompile(`^(?P<year>[0-9][0-9][0-9][0-9])-(?P<month>[0-9][0-9]?)-(?P<day>[0-9][0-9]?)(?:(?:[Tt]|[ \t]+)(?P<hour>[0-9][0-9]?):(?P<minute>[0-9][0-9]):(?P<second>[0-9][0-9])(?:\.(?P<fraction>[0-9]*))?(?:[ \t]*(?P<tz>Z|(?P<tz_sign>[-+])(?P<tz_hour>[0-9][0-9]?)(?::(?P<tz_minute>[0-9][0-9]))?))?)?$`)

func (c *constructor) constructYAMLTimestamp(n *node) (*pyObj, *yamlError) {
	if _, err := c.constructScalar(n, 0); err != nil {
		return nil, err
	}
	if n.kind != nScalar {
		// regexp.match(node.value) on a list: TypeError.
		return nil, valueErr(n, "TypeError: expected string or bytes-like object")
	}
	m := pySubmatch(timestampRegexp, n.value)
	if m == nil {
		return nil, valueErr(n, "AttributeError: 'NoneType' object has no attribute 'groupdict'")
	}
	g := func(name string) string { return m[timestampRegexp.SubexpIndex(name)] }
	atoi := func(s string) int { v, _ := strconv.Atoi(s); return v }
	d := &pyDatetime{year: atoi(g("year")), month: atoi(g("month")), day: atoi(g("day"))}
	if g("hour") == "" {
		d.isDate = true
	} else {
		d.hour, d.minute, d.second = atoi(g("hour")), atoi(g("minute")), atoi(g("second"))
		if f := g("fraction"); f != "" {
			if len(f) > 6 {
				f = f[:6]
			}
			for len(f) < 6 {
				f += "0"
			}
			d.micros = atoi(f)
		}
		if g("tz_sign") != "" {
			off := atoi(g("tz_hour"))*3600 + atoi(g("tz_minute"))*60
			if g("tz_sign") == "-" {
				off = -off
			}
			d.hasTZ, d.tzSeconds = true, off
		} else if g("tz") != "" {
			d.hasTZ = true
		}
	}
	if e := d.validate(); e != nil {
		return nil, valueErr(n, "ValueError: "+e.Error())
	}
	kind := pyDatetimeKind
	if d.isDate {
		kind = pyDate
	}
	return &pyObj{kind: kind, dt: d}, nil
}

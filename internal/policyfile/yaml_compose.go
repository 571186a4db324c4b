// Ported from PyYAML 6.0 lib/yaml/nodes.py, composer.py and resolver.py (MIT License); see NOTICE.

package policyfile

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/oslorego/oslorego/internal/python"
)

// ---- nodes.py / composer.py / resolver.py ----

// yamlMaxDepth approximates the node nesting depth at which PyYAML's
// recursive composer hits Python's recursion limit (RecursionError, which
// oslo does not catch). The real limit depends on the caller's stack
// depth; parse_file_contents called from a shallow stack accepts about 491
// nested nodes.
const yamlMaxDepth = 490

type nodeKind int

const (
	nScalar nodeKind = iota
	nSequence
	nMapping
)

func (k nodeKind) id() string {
	return [...]string{"scalar", "sequence", "mapping"}[k]
}

type node struct {
	kind  nodeKind
	tag   string
	value string  // scalar
	items []nref  // sequence
	pairs []npair // mapping
	start mark
	style rune
}

// nref is one occurrence of a node: the node itself is shared by all its
// aliases (as in PyYAML), at is where this occurrence is written.
type nref struct {
	n  *node
	at mark
}

type npair struct{ k, v nref }

type composer struct {
	*parser
	anchors map[string]*node
	depth   int
}

const (
	tagNull      = "tag:yaml.org,2002:null"
	tagBool      = "tag:yaml.org,2002:bool"
	tagInt       = "tag:yaml.org,2002:int"
	tagFloat     = "tag:yaml.org,2002:float"
	tagBinary    = "tag:yaml.org,2002:binary"
	tagTimestamp = "tag:yaml.org,2002:timestamp"
	tagOmap      = "tag:yaml.org,2002:omap"
	tagPairs     = "tag:yaml.org,2002:pairs"
	tagSet       = "tag:yaml.org,2002:set"
	tagStr       = "tag:yaml.org,2002:str"
	tagSeq       = "tag:yaml.org,2002:seq"
	tagMap       = "tag:yaml.org,2002:map"
	tagMerge     = "tag:yaml.org,2002:merge"
	tagValue     = "tag:yaml.org,2002:value"
	tagYAML      = "tag:yaml.org,2002:yaml"
)

func (c *composer) getSingleNode() (*node, *yamlError) {
	if _, err := c.getEvent(); err != nil { // STREAM-START
		return nil, err
	}
	var document *node
	end, err := c.checkEvent(eStreamEnd)
	if err != nil {
		return nil, err
	}
	if !end {
		document, err = c.composeDocument()
		if err != nil {
			return nil, err
		}
	}
	end, err = c.checkEvent(eStreamEnd)
	if err != nil {
		return nil, err
	}
	if !end {
		ev, err := c.getEvent()
		if err != nil {
			return nil, err
		}
		return nil, markErr("expected a single document in the stream", document.start,
			"but found another document", ev.start)
	}
	if _, err := c.getEvent(); err != nil { // STREAM-END
		return nil, err
	}
	return document, nil
}

func (c *composer) composeDocument() (*node, *yamlError) {
	if _, err := c.getEvent(); err != nil { // DOCUMENT-START
		return nil, err
	}
	r, err := c.composeNode()
	if err != nil {
		return nil, err
	}
	if _, err := c.getEvent(); err != nil { // DOCUMENT-END
		return nil, err
	}
	c.anchors = map[string]*node{}
	return r.n, nil
}

func (c *composer) composeNode() (nref, *yamlError) {
	if ok, err := c.checkEvent(eAlias); err != nil {
		return nref{}, err
	} else if ok {
		ev, err := c.getEvent()
		if err != nil {
			return nref{}, err
		}
		n, ok := c.anchors[ev.anchor]
		if !ok {
			return nref{}, problemErr(fmt.Sprintf("found undefined alias %s", python.StrReprWTF8(ev.anchor)), ev.start)
		}
		return nref{n, ev.start}, nil
	}
	ev, err := c.peekEvent()
	if err != nil {
		return nref{}, err
	}
	if ev.anchor != "" {
		if prev, dup := c.anchors[ev.anchor]; dup {
			return nref{}, markErr(fmt.Sprintf("found duplicate anchor %s; first occurrence", python.StrReprWTF8(ev.anchor)), prev.start,
				"second occurrence", ev.start)
		}
	}
	c.depth++
	defer func() { c.depth-- }()
	if c.depth > yamlMaxDepth {
		return nref{}, problemErr("maximum recursion depth exceeded (RecursionError in PyYAML's composer)", ev.start)
	}
	var n *node
	switch ev.kind {
	case eScalar:
		n, err = c.composeScalarNode(ev.anchor)
	case eSequenceStart:
		n, err = c.composeSequenceNode(ev.anchor)
	case eMappingStart:
		n, err = c.composeMappingNode(ev.anchor)
	default:
		return nref{}, problemErr("unexpected event", ev.start)
	}
	if err != nil {
		return nref{}, err
	}
	return nref{n, n.start}, nil
}

func (c *composer) composeScalarNode(anchor string) (*node, *yamlError) {
	ev, err := c.getEvent()
	if err != nil {
		return nil, err
	}
	tag := ev.tag
	if tag == "" || tag == "!" {
		tag = resolve(nScalar, ev.value, ev.implicit)
	}
	n := &node{kind: nScalar, tag: tag, value: ev.value, start: ev.start, style: ev.style}
	if anchor != "" {
		c.anchors[anchor] = n
	}
	return n, nil
}

func (c *composer) composeSequenceNode(anchor string) (*node, *yamlError) {
	start, err := c.getEvent()
	if err != nil {
		return nil, err
	}
	tag := start.tag
	if tag == "" || tag == "!" {
		tag = resolve(nSequence, "", start.implicit)
	}
	n := &node{kind: nSequence, tag: tag, start: start.start}
	if anchor != "" {
		c.anchors[anchor] = n
	}
	for {
		end, err := c.checkEvent(eSequenceEnd)
		if err != nil {
			return nil, err
		}
		if end {
			break
		}
		r, err := c.composeNode()
		if err != nil {
			return nil, err
		}
		n.items = append(n.items, r)
	}
	if _, err := c.getEvent(); err != nil {
		return nil, err
	}
	return n, nil
}

func (c *composer) composeMappingNode(anchor string) (*node, *yamlError) {
	start, err := c.getEvent()
	if err != nil {
		return nil, err
	}
	tag := start.tag
	if tag == "" || tag == "!" {
		tag = resolve(nMapping, "", start.implicit)
	}
	n := &node{kind: nMapping, tag: tag, start: start.start}
	if anchor != "" {
		c.anchors[anchor] = n
	}
	for {
		end, err := c.checkEvent(eMappingEnd)
		if err != nil {
			return nil, err
		}
		if end {
			break
		}
		k, err := c.composeNode()
		if err != nil {
			return nil, err
		}
		v, err := c.composeNode()
		if err != nil {
			return nil, err
		}
		n.pairs = append(n.pairs, npair{k, v})
	}
	if _, err := c.getEvent(); err != nil {
		return nil, err
	}
	return n, nil
}

// ---- resolver.py (Resolver's implicit resolvers) ----

type implicitResolver struct {
	tag    string
	re     *regexp.Regexp
	firsts string // first characters; "" entry means the empty value
	empty  bool   // also applies to the empty value
}

// The regular expressions of resolver.py, with re.X whitespace removed.
var implicitResolvers = []implicitResolver{
	{tagBool, regexp.MustCompile(`^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$`), "yYnNtTfFoO", false},
	{tagFloat, regexp.MustCompile(`^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$`), "-+0123456789.", false},
	{tagInt, regexp.MustCompile(`^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$`), "-+0123456789", false},
	{tagMerge, regexp.MustCompile(`^(?:<<)$`), "<", false},
	{tagNull, regexp.MustCompile(`^(?:~|null|Null|NULL|)$`), "~nN", true},
	{tagTimestamp, regexp.MustCompile(`^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$`), "0123456789", false},
	{tagValue, regexp.MustCompile(`^(?:=)$`), "=", false},
	{tagYAML, regexp.MustCompile(`^(?:!|&|\*)$`), "!&*", false},
}

// pyMatch is re.match for a pattern of the form ^...$: Python's $ also
// matches just before a trailing newline.
func pyMatch(re *regexp.Regexp, s string) bool {
	return re.MatchString(s) || (strings.HasSuffix(s, "\n") && re.MatchString(s[:len(s)-1]))
}

// pySubmatch is re.match(...).groups() with the same $ rule.
func pySubmatch(re *regexp.Regexp, s string) []string {
	if m := re.FindStringSubmatch(s); m != nil {
		return m
	}
	if strings.HasSuffix(s, "\n") {
		return re.FindStringSubmatch(s[:len(s)-1])
	}
	return nil
}

func resolve(kind nodeKind, value string, implicit [2]bool) string {
	if kind == nScalar && implicit[0] {
		var first rune
		if value != "" {
			first, _ = python.DecodeRuneWTF8(value)
		}
		for _, r := range implicitResolvers {
			if value == "" {
				if !r.empty {
					continue
				}
			} else if !strings.ContainsRune(r.firsts, first) {
				continue
			}
			if pyMatch(r.re, value) {
				return r.tag
			}
		}
	}
	switch kind {
	case nScalar:
		return tagStr
	case nSequence:
		return tagSeq
	}
	return tagMap
}

// loadYAML is yaml.safe_load(text): it returns the constructed document
// (nil for an empty stream) and the position of its root node.
func loadYAML(text string) (*pyObj, pos, *yamlError) {
	s, err := newScanner(text)
	if err != nil {
		return nil, pos{}, err
	}
	c := &composer{parser: newParser(s), anchors: map[string]*node{}}
	root, err := c.getSingleNode()
	if err != nil {
		return nil, pos{}, err
	}
	if root == nil {
		return nil, pos{}, nil
	}
	obj, err := newConstructor().constructDocument(root)
	if err != nil {
		return nil, pos{}, err
	}
	return obj, markPos(root.start), nil
}

func markPos(m mark) pos { return pos{m.line + 1, m.column + 1} }

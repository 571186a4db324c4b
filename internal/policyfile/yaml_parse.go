// Ported from PyYAML 6.0 lib/yaml/events.py and parser.py (MIT License); see NOTICE.

package policyfile

import (
	"fmt"

	"github.com/oslorego/oslorego/internal/python"
)

// ---- events.py / parser.py ----

type eventKind int

const (
	eStreamStart eventKind = iota
	eStreamEnd
	eDocumentStart
	eDocumentEnd
	eAlias
	eScalar
	eSequenceStart
	eSequenceEnd
	eMappingStart
	eMappingEnd
)

type event struct {
	kind       eventKind
	start, end mark
	anchor     string // "" = None (anchors are never empty)
	tag        string // "" = None (tags are never empty)
	// implicit is the scalar event's (plain, quoted) pair; collection
	// events use implicit[0].
	implicit [2]bool
	value    string
	style    rune
}

type stateFn func(p *parser) (*event, *yamlError)

type parser struct {
	*scanner
	currentEvent *event
	tagHandles   map[string]string
	states       []stateFn
	marks        []mark
	state        stateFn
}

var defaultTags = map[string]string{"!": "!", "!!": "tag:yaml.org,2002:"}

func newParser(s *scanner) *parser {
	return &parser{scanner: s, state: (*parser).parseStreamStart}
}

func (p *parser) checkEvent(kinds ...eventKind) (bool, *yamlError) {
	if p.currentEvent == nil && p.state != nil {
		ev, err := p.state(p)
		if err != nil {
			return false, err
		}
		p.currentEvent = ev
	}
	if p.currentEvent != nil {
		if len(kinds) == 0 {
			return true, nil
		}
		for _, k := range kinds {
			if p.currentEvent.kind == k {
				return true, nil
			}
		}
	}
	return false, nil
}

func (p *parser) peekEvent() (*event, *yamlError) {
	if _, err := p.checkEvent(); err != nil {
		return nil, err
	}
	return p.currentEvent, nil
}

func (p *parser) getEvent() (*event, *yamlError) {
	if _, err := p.checkEvent(); err != nil {
		return nil, err
	}
	v := p.currentEvent
	p.currentEvent = nil
	return v, nil
}

func (p *parser) popState() {
	p.state = p.states[len(p.states)-1]
	p.states = p.states[:len(p.states)-1]
}

func (p *parser) pushState(f stateFn) { p.states = append(p.states, f) }

func (p *parser) popMark() { p.marks = p.marks[:len(p.marks)-1] }

func (p *parser) parseStreamStart() (*event, *yamlError) {
	t, err := p.getToken()
	if err != nil {
		return nil, err
	}
	p.state = (*parser).parseImplicitDocumentStart
	return &event{kind: eStreamStart, start: t.start, end: t.end}, nil
}

func (p *parser) parseImplicitDocumentStart() (*event, *yamlError) {
	ok, err := p.checkToken(tDirective, tDocumentStart, tStreamEnd)
	if err != nil {
		return nil, err
	}
	if !ok {
		p.tagHandles = defaultTags
		t, err := p.peekToken()
		if err != nil {
			return nil, err
		}
		p.pushState((*parser).parseDocumentEnd)
		p.state = (*parser).parseBlockNode
		return &event{kind: eDocumentStart, start: t.start, end: t.start}, nil
	}
	return p.parseDocumentStart()
}

func (p *parser) parseDocumentStart() (*event, *yamlError) {
	for {
		ok, err := p.checkToken(tDocumentEnd)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		if _, err := p.getToken(); err != nil {
			return nil, err
		}
	}
	ok, err := p.checkToken(tStreamEnd)
	if err != nil {
		return nil, err
	}
	if !ok {
		t, err := p.peekToken()
		if err != nil {
			return nil, err
		}
		start := t.start
		if err := p.processDirectives(); err != nil {
			return nil, err
		}
		ok, err := p.checkToken(tDocumentStart)
		if err != nil {
			return nil, err
		}
		if !ok {
			t, err := p.peekToken()
			if err != nil {
				return nil, err
			}
			return nil, problemErr(fmt.Sprintf("expected '<document start>', but found %s", t.kind.id()), t.start)
		}
		t, err = p.getToken()
		if err != nil {
			return nil, err
		}
		p.pushState((*parser).parseDocumentEnd)
		p.state = (*parser).parseDocumentContent
		return &event{kind: eDocumentStart, start: start, end: t.end}, nil
	}
	t, err := p.getToken()
	if err != nil {
		return nil, err
	}
	p.state = nil
	return &event{kind: eStreamEnd, start: t.start, end: t.end}, nil
}

func (p *parser) parseDocumentEnd() (*event, *yamlError) {
	t, err := p.peekToken()
	if err != nil {
		return nil, err
	}
	start, end := t.start, t.start
	ok, err := p.checkToken(tDocumentEnd)
	if err != nil {
		return nil, err
	}
	if ok {
		t, err = p.getToken()
		if err != nil {
			return nil, err
		}
		end = t.end
	}
	p.state = (*parser).parseDocumentStart
	return &event{kind: eDocumentEnd, start: start, end: end}, nil
}

func (p *parser) parseDocumentContent() (*event, *yamlError) {
	ok, err := p.checkToken(tDirective, tDocumentStart, tDocumentEnd, tStreamEnd)
	if err != nil {
		return nil, err
	}
	if ok {
		t, err := p.peekToken()
		if err != nil {
			return nil, err
		}
		ev := processEmptyScalar(t.start)
		p.popState()
		return ev, nil
	}
	return p.parseBlockNode()
}

func (p *parser) processDirectives() *yamlError {
	versionSeen := false
	p.tagHandles = map[string]string{}
	for {
		ok, err := p.checkToken(tDirective)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		t, err := p.getToken()
		if err != nil {
			return err
		}
		switch t.name {
		case "YAML":
			if versionSeen {
				return problemErr("found duplicate YAML directive", t.start)
			}
			if t.major != 1 {
				return problemErr("found incompatible YAML document (version 1.* is required)", t.start)
			}
			versionSeen = true
		case "TAG":
			if _, dup := p.tagHandles[t.handle]; dup {
				return problemErr(fmt.Sprintf("duplicate tag handle %s", python.StrReprWTF8(t.handle)), t.start)
			}
			p.tagHandles[t.handle] = t.prefix
		}
	}
	for k, v := range defaultTags {
		if _, ok := p.tagHandles[k]; !ok {
			p.tagHandles[k] = v
		}
	}
	return nil
}

func (p *parser) parseBlockNode() (*event, *yamlError) { return p.parseNode(true, false) }

func (p *parser) parseFlowNode() (*event, *yamlError) { return p.parseNode(false, false) }

func (p *parser) parseBlockNodeOrIndentlessSequence() (*event, *yamlError) {
	return p.parseNode(true, true)
}

func (p *parser) parseNode(block, indentlessSequence bool) (*event, *yamlError) {
	if ok, err := p.checkToken(tAlias); err != nil {
		return nil, err
	} else if ok {
		t, err := p.getToken()
		if err != nil {
			return nil, err
		}
		p.popState()
		return &event{kind: eAlias, anchor: t.value, start: t.start, end: t.end}, nil
	}
	var anchor, tag string
	var tagHandle, tagSuffix string
	hasTag := false
	var start, end, tagMark mark
	hasStart := false
	if ok, err := p.checkToken(tAnchor); err != nil {
		return nil, err
	} else if ok {
		t, err := p.getToken()
		if err != nil {
			return nil, err
		}
		start, end, anchor, hasStart = t.start, t.end, t.value, true
		if ok, err := p.checkToken(tTag); err != nil {
			return nil, err
		} else if ok {
			t, err := p.getToken()
			if err != nil {
				return nil, err
			}
			tagMark, end = t.start, t.end
			tagHandle, tagSuffix, hasTag = t.handle, t.suffix, true
		}
	} else if ok, err := p.checkToken(tTag); err != nil {
		return nil, err
	} else if ok {
		t, err := p.getToken()
		if err != nil {
			return nil, err
		}
		start, tagMark, end, hasStart = t.start, t.start, t.end, true
		tagHandle, tagSuffix, hasTag = t.handle, t.suffix, true
		if ok, err := p.checkToken(tAnchor); err != nil {
			return nil, err
		} else if ok {
			t, err := p.getToken()
			if err != nil {
				return nil, err
			}
			end, anchor = t.end, t.value
		}
	}
	if hasTag {
		if tagHandle != "" {
			prefix, ok := p.tagHandles[tagHandle]
			if !ok {
				return nil, markErr("while parsing a node", start,
					fmt.Sprintf("found undefined tag handle %s", python.StrReprWTF8(tagHandle)), tagMark)
			}
			tag = prefix + tagSuffix
		} else {
			tag = tagSuffix
		}
	}
	if !hasStart {
		t, err := p.peekToken()
		if err != nil {
			return nil, err
		}
		start, end = t.start, t.start
	}
	implicit := tag == "" || tag == "!"
	if indentlessSequence {
		if ok, err := p.checkToken(tBlockEntry); err != nil {
			return nil, err
		} else if ok {
			t, err := p.peekToken()
			if err != nil {
				return nil, err
			}
			p.state = (*parser).parseIndentlessSequenceEntry
			return &event{kind: eSequenceStart, anchor: anchor, tag: tag, implicit: [2]bool{implicit}, start: start, end: t.end}, nil
		}
	}
	if ok, err := p.checkToken(tScalar); err != nil {
		return nil, err
	} else if ok {
		t, err := p.getToken()
		if err != nil {
			return nil, err
		}
		var imp [2]bool
		switch {
		case (t.plain && tag == "") || tag == "!":
			imp = [2]bool{true, false}
		case tag == "":
			imp = [2]bool{false, true}
		}
		p.popState()
		return &event{kind: eScalar, anchor: anchor, tag: tag, implicit: imp, value: t.value, start: start, end: t.end, style: t.style}, nil
	}
	if ok, err := p.checkToken(tFlowSequenceStart); err != nil {
		return nil, err
	} else if ok {
		t, _ := p.peekToken()
		p.state = (*parser).parseFlowSequenceFirstEntry
		return &event{kind: eSequenceStart, anchor: anchor, tag: tag, implicit: [2]bool{implicit}, start: start, end: t.end}, nil
	}
	if ok, err := p.checkToken(tFlowMappingStart); err != nil {
		return nil, err
	} else if ok {
		t, _ := p.peekToken()
		p.state = (*parser).parseFlowMappingFirstKey
		return &event{kind: eMappingStart, anchor: anchor, tag: tag, implicit: [2]bool{implicit}, start: start, end: t.end}, nil
	}
	if block {
		if ok, err := p.checkToken(tBlockSequenceStart); err != nil {
			return nil, err
		} else if ok {
			t, _ := p.peekToken()
			p.state = (*parser).parseBlockSequenceFirstEntry
			return &event{kind: eSequenceStart, anchor: anchor, tag: tag, implicit: [2]bool{implicit}, start: start, end: t.start}, nil
		}
		if ok, err := p.checkToken(tBlockMappingStart); err != nil {
			return nil, err
		} else if ok {
			t, _ := p.peekToken()
			p.state = (*parser).parseBlockMappingFirstKey
			return &event{kind: eMappingStart, anchor: anchor, tag: tag, implicit: [2]bool{implicit}, start: start, end: t.start}, nil
		}
	}
	if anchor != "" || tag != "" {
		p.popState()
		return &event{kind: eScalar, anchor: anchor, tag: tag, implicit: [2]bool{implicit, false}, value: "", start: start, end: end}, nil
	}
	node := "flow"
	if block {
		node = "block"
	}
	t, err := p.peekToken()
	if err != nil {
		return nil, err
	}
	return nil, markErr("while parsing a "+node+" node", start,
		fmt.Sprintf("expected the node content, but found %s", t.kind.id()), t.start)
}

func (p *parser) parseBlockSequenceFirstEntry() (*event, *yamlError) {
	t, err := p.getToken()
	if err != nil {
		return nil, err
	}
	p.marks = append(p.marks, t.start)
	return p.parseBlockSequenceEntry()
}

func (p *parser) parseBlockSequenceEntry() (*event, *yamlError) {
	if ok, err := p.checkToken(tBlockEntry); err != nil {
		return nil, err
	} else if ok {
		t, err := p.getToken()
		if err != nil {
			return nil, err
		}
		ok, err := p.checkToken(tBlockEntry, tBlockEnd)
		if err != nil {
			return nil, err
		}
		if !ok {
			p.pushState((*parser).parseBlockSequenceEntry)
			return p.parseBlockNode()
		}
		p.state = (*parser).parseBlockSequenceEntry
		return processEmptyScalar(t.end), nil
	}
	if ok, err := p.checkToken(tBlockEnd); err != nil {
		return nil, err
	} else if !ok {
		t, err := p.peekToken()
		if err != nil {
			return nil, err
		}
		return nil, markErr("while parsing a block collection", p.marks[len(p.marks)-1],
			fmt.Sprintf("expected <block end>, but found %s", t.kind.id()), t.start)
	}
	t, err := p.getToken()
	if err != nil {
		return nil, err
	}
	p.popState()
	p.popMark()
	return &event{kind: eSequenceEnd, start: t.start, end: t.end}, nil
}

func (p *parser) parseIndentlessSequenceEntry() (*event, *yamlError) {
	if ok, err := p.checkToken(tBlockEntry); err != nil {
		return nil, err
	} else if ok {
		t, err := p.getToken()
		if err != nil {
			return nil, err
		}
		ok, err := p.checkToken(tBlockEntry, tKey, tValue, tBlockEnd)
		if err != nil {
			return nil, err
		}
		if !ok {
			p.pushState((*parser).parseIndentlessSequenceEntry)
			return p.parseBlockNode()
		}
		p.state = (*parser).parseIndentlessSequenceEntry
		return processEmptyScalar(t.end), nil
	}
	t, err := p.peekToken()
	if err != nil {
		return nil, err
	}
	p.popState()
	return &event{kind: eSequenceEnd, start: t.start, end: t.start}, nil
}

func (p *parser) parseBlockMappingFirstKey() (*event, *yamlError) {
	t, err := p.getToken()
	if err != nil {
		return nil, err
	}
	p.marks = append(p.marks, t.start)
	return p.parseBlockMappingKey()
}

func (p *parser) parseBlockMappingKey() (*event, *yamlError) {
	if ok, err := p.checkToken(tKey); err != nil {
		return nil, err
	} else if ok {
		t, err := p.getToken()
		if err != nil {
			return nil, err
		}
		ok, err := p.checkToken(tKey, tValue, tBlockEnd)
		if err != nil {
			return nil, err
		}
		if !ok {
			p.pushState((*parser).parseBlockMappingValue)
			return p.parseBlockNodeOrIndentlessSequence()
		}
		p.state = (*parser).parseBlockMappingValue
		return processEmptyScalar(t.end), nil
	}
	if ok, err := p.checkToken(tBlockEnd); err != nil {
		return nil, err
	} else if !ok {
		t, err := p.peekToken()
		if err != nil {
			return nil, err
		}
		return nil, markErr("while parsing a block mapping", p.marks[len(p.marks)-1],
			fmt.Sprintf("expected <block end>, but found %s", t.kind.id()), t.start)
	}
	t, err := p.getToken()
	if err != nil {
		return nil, err
	}
	p.popState()
	p.popMark()
	return &event{kind: eMappingEnd, start: t.start, end: t.end}, nil
}

func (p *parser) parseBlockMappingValue() (*event, *yamlError) {
	if ok, err := p.checkToken(tValue); err != nil {
		return nil, err
	} else if ok {
		t, err := p.getToken()
		if err != nil {
			return nil, err
		}
		ok, err := p.checkToken(tKey, tValue, tBlockEnd)
		if err != nil {
			return nil, err
		}
		if !ok {
			p.pushState((*parser).parseBlockMappingKey)
			return p.parseBlockNodeOrIndentlessSequence()
		}
		p.state = (*parser).parseBlockMappingKey
		return processEmptyScalar(t.end), nil
	}
	p.state = (*parser).parseBlockMappingKey
	t, err := p.peekToken()
	if err != nil {
		return nil, err
	}
	return processEmptyScalar(t.start), nil
}

func (p *parser) parseFlowSequenceFirstEntry() (*event, *yamlError) {
	t, err := p.getToken()
	if err != nil {
		return nil, err
	}
	p.marks = append(p.marks, t.start)
	return p.parseFlowSequenceEntryImpl(true)
}

func (p *parser) parseFlowSequenceEntry() (*event, *yamlError) {
	return p.parseFlowSequenceEntryImpl(false)
}

func (p *parser) parseFlowSequenceEntryImpl(first bool) (*event, *yamlError) {
	if ok, err := p.checkToken(tFlowSequenceEnd); err != nil {
		return nil, err
	} else if !ok {
		if !first {
			if ok, err := p.checkToken(tFlowEntry); err != nil {
				return nil, err
			} else if ok {
				if _, err := p.getToken(); err != nil {
					return nil, err
				}
			} else {
				t, err := p.peekToken()
				if err != nil {
					return nil, err
				}
				return nil, markErr("while parsing a flow sequence", p.marks[len(p.marks)-1],
					fmt.Sprintf("expected ',' or ']', but got %s", t.kind.id()), t.start)
			}
		}
		if ok, err := p.checkToken(tKey); err != nil {
			return nil, err
		} else if ok {
			t, err := p.peekToken()
			if err != nil {
				return nil, err
			}
			p.state = (*parser).parseFlowSequenceEntryMappingKey
			return &event{kind: eMappingStart, implicit: [2]bool{true}, start: t.start, end: t.end}, nil
		} else if ok, err := p.checkToken(tFlowSequenceEnd); err != nil {
			return nil, err
		} else if !ok {
			p.pushState((*parser).parseFlowSequenceEntry)
			return p.parseFlowNode()
		}
	}
	t, err := p.getToken()
	if err != nil {
		return nil, err
	}
	p.popState()
	p.popMark()
	return &event{kind: eSequenceEnd, start: t.start, end: t.end}, nil
}

func (p *parser) parseFlowSequenceEntryMappingKey() (*event, *yamlError) {
	t, err := p.getToken()
	if err != nil {
		return nil, err
	}
	ok, err := p.checkToken(tValue, tFlowEntry, tFlowSequenceEnd)
	if err != nil {
		return nil, err
	}
	if !ok {
		p.pushState((*parser).parseFlowSequenceEntryMappingValue)
		return p.parseFlowNode()
	}
	p.state = (*parser).parseFlowSequenceEntryMappingValue
	return processEmptyScalar(t.end), nil
}

func (p *parser) parseFlowSequenceEntryMappingValue() (*event, *yamlError) {
	if ok, err := p.checkToken(tValue); err != nil {
		return nil, err
	} else if ok {
		t, err := p.getToken()
		if err != nil {
			return nil, err
		}
		ok, err := p.checkToken(tFlowEntry, tFlowSequenceEnd)
		if err != nil {
			return nil, err
		}
		if !ok {
			p.pushState((*parser).parseFlowSequenceEntryMappingEnd)
			return p.parseFlowNode()
		}
		p.state = (*parser).parseFlowSequenceEntryMappingEnd
		return processEmptyScalar(t.end), nil
	}
	p.state = (*parser).parseFlowSequenceEntryMappingEnd
	t, err := p.peekToken()
	if err != nil {
		return nil, err
	}
	return processEmptyScalar(t.start), nil
}

func (p *parser) parseFlowSequenceEntryMappingEnd() (*event, *yamlError) {
	p.state = (*parser).parseFlowSequenceEntry
	t, err := p.peekToken()
	if err != nil {
		return nil, err
	}
	return &event{kind: eMappingEnd, start: t.start, end: t.start}, nil
}

func (p *parser) parseFlowMappingFirstKey() (*event, *yamlError) {
	t, err := p.getToken()
	if err != nil {
		return nil, err
	}
	p.marks = append(p.marks, t.start)
	return p.parseFlowMappingKeyImpl(true)
}

func (p *parser) parseFlowMappingKey() (*event, *yamlError) { return p.parseFlowMappingKeyImpl(false) }

func (p *parser) parseFlowMappingKeyImpl(first bool) (*event, *yamlError) {
	if ok, err := p.checkToken(tFlowMappingEnd); err != nil {
		return nil, err
	} else if !ok {
		if !first {
			if ok, err := p.checkToken(tFlowEntry); err != nil {
				return nil, err
			} else if ok {
				if _, err := p.getToken(); err != nil {
					return nil, err
				}
			} else {
				t, err := p.peekToken()
				if err != nil {
					return nil, err
				}
				return nil, markErr("while parsing a flow mapping", p.marks[len(p.marks)-1],
					fmt.Sprintf("expected ',' or '}', but got %s", t.kind.id()), t.start)
			}
		}
		if ok, err := p.checkToken(tKey); err != nil {
			return nil, err
		} else if ok {
			t, err := p.getToken()
			if err != nil {
				return nil, err
			}
			ok, err := p.checkToken(tValue, tFlowEntry, tFlowMappingEnd)
			if err != nil {
				return nil, err
			}
			if !ok {
				p.pushState((*parser).parseFlowMappingValue)
				return p.parseFlowNode()
			}
			p.state = (*parser).parseFlowMappingValue
			return processEmptyScalar(t.end), nil
		} else if ok, err := p.checkToken(tFlowMappingEnd); err != nil {
			return nil, err
		} else if !ok {
			p.pushState((*parser).parseFlowMappingEmptyValue)
			return p.parseFlowNode()
		}
	}
	t, err := p.getToken()
	if err != nil {
		return nil, err
	}
	p.popState()
	p.popMark()
	return &event{kind: eMappingEnd, start: t.start, end: t.end}, nil
}

func (p *parser) parseFlowMappingValue() (*event, *yamlError) {
	if ok, err := p.checkToken(tValue); err != nil {
		return nil, err
	} else if ok {
		t, err := p.getToken()
		if err != nil {
			return nil, err
		}
		ok, err := p.checkToken(tFlowEntry, tFlowMappingEnd)
		if err != nil {
			return nil, err
		}
		if !ok {
			p.pushState((*parser).parseFlowMappingKey)
			return p.parseFlowNode()
		}
		p.state = (*parser).parseFlowMappingKey
		return processEmptyScalar(t.end), nil
	}
	p.state = (*parser).parseFlowMappingKey
	t, err := p.peekToken()
	if err != nil {
		return nil, err
	}
	return processEmptyScalar(t.start), nil
}

func (p *parser) parseFlowMappingEmptyValue() (*event, *yamlError) {
	p.state = (*parser).parseFlowMappingKey
	t, err := p.peekToken()
	if err != nil {
		return nil, err
	}
	return processEmptyScalar(t.start), nil
}

func processEmptyScalar(m mark) *event {
	return &event{kind: eScalar, implicit: [2]bool{true, false}, value: "", start: m, end: m}
}

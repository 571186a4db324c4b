// Ported from PyYAML 6.0 lib/yaml/reader.py and scanner.py (MIT License); see NOTICE.

package policyfile

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/oslorego/oslorego/internal/python"
)

// This file and the other yaml_*.go files are a line-by-line port of the
// pure-Python PyYAML 6.0 loader that yaml.safe_load uses (reader.py,
// scanner.py, parser.py, composer.py, resolver.py and the SafeConstructor
// part of constructor.py), so that the accepted language, the values and
// the error positions are the ones oslo.policy sees. Function and variable
// names follow the Python source to make the two easy to compare.

// mark is a position in the input, 0-based like PyYAML's Mark.
type mark struct{ index, line, column int }

// yamlError is PyYAML's MarkedYAMLError (or ReaderError, or one of the
// Python exceptions raised by constructors).
type yamlError struct {
	context     string
	contextMark *mark
	problem     string
	problemMark *mark
	// index is set instead of problemMark for ReaderError, which only knows
	// a character index.
	index int
}

func (e *yamlError) toError(path, text string) *Error {
	err := &Error{Path: path}
	var m *mark
	switch {
	case e.problemMark != nil:
		m = e.problemMark
	case e.contextMark != nil:
		m = e.contextMark
	}
	if m != nil {
		err.Line, err.Col = m.line+1, m.column+1
	} else if e.index >= 0 {
		// ReaderError: a code point index.
		off := 0
		for n := 0; n < e.index && off < len(text); n++ {
			_, w := python.DecodeRuneWTF8(text[off:])
			off += w
		}
		err.Line, err.Col = lineColAt(text, off)
	}
	msg := e.problem
	if e.context != "" {
		if e.contextMark != nil && (e.problemMark == nil || *e.contextMark != *e.problemMark) {
			msg = fmt.Sprintf("%s at line %d, column %d: %s", e.context, e.contextMark.line+1, e.contextMark.column+1, msg)
		} else {
			msg = e.context + ": " + msg
		}
	}
	err.Msg = msg
	return err
}

func markErr(context string, contextMark mark, problem string, problemMark mark) *yamlError {
	cm, pm := contextMark, problemMark
	return &yamlError{context: context, contextMark: &cm, problem: problem, problemMark: &pm, index: -1}
}

func problemErr(problem string, problemMark mark) *yamlError {
	pm := problemMark
	return &yamlError{problem: problem, problemMark: &pm, index: -1}
}

// ---- reader.py ----

type reader struct {
	buffer  []rune // the whole input followed by '\0'
	pointer int
	line    int
	column  int
}

func (r *reader) peek(i int) rune {
	if r.pointer+i < len(r.buffer) {
		return r.buffer[r.pointer+i]
	}
	return 0
}

func (r *reader) prefix(length int) string {
	end := r.pointer + length
	if end > len(r.buffer) {
		end = len(r.buffer)
	}
	return string(r.buffer[r.pointer:end])
}

func (r *reader) forward(length int) {
	for ; length > 0 && r.pointer < len(r.buffer); length-- {
		ch := r.buffer[r.pointer]
		r.pointer++
		if ch == '\n' || ch == '\x85' || ch == '\u2028' || ch == '\u2029' ||
			(ch == '\r' && r.peek(0) != '\n') {
			r.line++
			r.column = 0
		} else if ch != '\uFEFF' {
			r.column++
		}
	}
}

func (r *reader) getMark() mark { return mark{r.pointer, r.line, r.column} }

// checkPrintable is Reader.check_printable: the pattern
// [^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010ffff].
func checkPrintable(buf []rune) *yamlError {
	for i, ch := range buf {
		if !(ch == 0x09 || ch == 0x0A || ch == 0x0D || (ch >= 0x20 && ch <= 0x7E) || ch == 0x85 ||
			(ch >= 0xA0 && ch <= 0xD7FF) || (ch >= 0xE000 && ch <= 0xFFFD) || (ch >= 0x10000 && ch <= 0x10FFFF)) {
			return &yamlError{problem: fmt.Sprintf("unacceptable character #x%04x: special characters are not allowed", ch), index: i}
		}
	}
	return nil
}

// ---- tokens.py ----

type tokenKind int

const (
	tStreamStart tokenKind = iota
	tStreamEnd
	tDirective
	tDocumentStart
	tDocumentEnd
	tBlockSequenceStart
	tBlockMappingStart
	tBlockEnd
	tFlowSequenceStart
	tFlowMappingStart
	tFlowSequenceEnd
	tFlowMappingEnd
	tKey
	tValue
	tBlockEntry
	tFlowEntry
	tAlias
	tAnchor
	tTag
	tScalar
)

var tokenIDs = [...]string{
	tStreamStart: "<stream start>", tStreamEnd: "<stream end>", tDirective: "<directive>",
	tDocumentStart: "<document start>", tDocumentEnd: "<document end>",
	tBlockSequenceStart: "<block sequence start>", tBlockMappingStart: "<block mapping start>",
	tBlockEnd: "<block end>", tFlowSequenceStart: "'['", tFlowMappingStart: "'{'",
	tFlowSequenceEnd: "']'", tFlowMappingEnd: "'}'", tKey: "'?'", tValue: "':'",
	tBlockEntry: "'-'", tFlowEntry: "','", tAlias: "'<alias>'", tAnchor: "'<anchor>'",
	tTag: "'<tag>'", tScalar: "'<scalar>'",
}

// id returns repr(token.id) as the parser's messages print it.
func (k tokenKind) id() string {
	s := tokenIDs[k]
	if strings.HasPrefix(s, "<") {
		return "'" + s + "'"
	}
	return s
}

type token struct {
	kind       tokenKind
	start, end mark
	value      string // ALIAS, ANCHOR, SCALAR
	plain      bool   // SCALAR
	style      rune   // SCALAR: 0 (plain), '\'', '"', '|', '>'
	// DIRECTIVE
	name         string
	major, minor int    // %YAML
	handle       string // %TAG handle; TAG handle ("" = None)
	prefix       string // %TAG prefix
	suffix       string // TAG suffix
}

// ---- scanner.py ----

type simpleKey struct {
	tokenNumber int
	required    bool
	index       int
	line        int
	column      int
	mark        mark
	level       int
}

type scanner struct {
	reader
	done           bool
	flowLevel      int
	tokens         []*token
	tokensTaken    int
	indent         int
	indents        []int
	allowSimpleKey bool
	// possibleSimpleKeys is Python's dict flow_level -> SimpleKey, kept in
	// insertion order.
	possibleSimpleKeys []*simpleKey
}

const (
	sBreakZ = "\x00\r\n\u0085\u2028\u2029"
	sBlankZ = "\x00 \t\r\n\u0085\u2028\u2029"
	sSpaceZ = "\x00 \r\n\u0085\u2028\u2029"
	sBreak  = "\r\n\u0085\u2028\u2029"
)

func in(ch rune, set string) bool { return strings.ContainsRune(set, ch) }

func newScanner(text string) (*scanner, *yamlError) {
	buf := []rune(text)
	if err := checkPrintable(buf); err != nil {
		return nil, err
	}
	s := &scanner{}
	s.buffer = append(buf, 0)
	s.indent = -1
	s.allowSimpleKey = true
	m := s.getMark()
	s.tokens = append(s.tokens, &token{kind: tStreamStart, start: m, end: m})
	return s, nil
}

func (s *scanner) checkToken(kinds ...tokenKind) (bool, *yamlError) {
	for {
		more, err := s.needMoreTokens()
		if err != nil {
			return false, err
		}
		if !more {
			break
		}
		if err := s.fetchMoreTokens(); err != nil {
			return false, err
		}
	}
	if len(s.tokens) > 0 {
		if len(kinds) == 0 {
			return true, nil
		}
		for _, k := range kinds {
			if s.tokens[0].kind == k {
				return true, nil
			}
		}
	}
	return false, nil
}

func (s *scanner) peekToken() (*token, *yamlError) {
	if _, err := s.checkToken(); err != nil {
		return nil, err
	}
	if len(s.tokens) > 0 {
		return s.tokens[0], nil
	}
	return nil, nil
}

func (s *scanner) getToken() (*token, *yamlError) {
	if _, err := s.checkToken(); err != nil {
		return nil, err
	}
	if len(s.tokens) > 0 {
		s.tokensTaken++
		t := s.tokens[0]
		s.tokens = s.tokens[1:]
		return t, nil
	}
	return nil, nil
}

func (s *scanner) needMoreTokens() (bool, *yamlError) {
	if s.done {
		return false, nil
	}
	if len(s.tokens) == 0 {
		return true, nil
	}
	if err := s.stalePossibleSimpleKeys(); err != nil {
		return false, err
	}
	n, ok := s.nextPossibleSimpleKey()
	return ok && n == s.tokensTaken, nil
}

func (s *scanner) fetchMoreTokens() *yamlError {
	s.scanToNextToken()
	if err := s.stalePossibleSimpleKeys(); err != nil {
		return err
	}
	s.unwindIndent(s.column)
	ch := s.peek(0)
	switch {
	case ch == 0:
		return s.fetchStreamEnd()
	case ch == '%' && s.checkDirective():
		return s.fetchDirective()
	case ch == '-' && s.checkDocumentStart():
		return s.fetchDocumentIndicator(tDocumentStart)
	case ch == '.' && s.checkDocumentEnd():
		return s.fetchDocumentIndicator(tDocumentEnd)
	case ch == '[':
		return s.fetchFlowCollectionStart(tFlowSequenceStart)
	case ch == '{':
		return s.fetchFlowCollectionStart(tFlowMappingStart)
	case ch == ']':
		return s.fetchFlowCollectionEnd(tFlowSequenceEnd)
	case ch == '}':
		return s.fetchFlowCollectionEnd(tFlowMappingEnd)
	case ch == ',':
		return s.fetchFlowEntry()
	case ch == '-' && s.checkBlockEntry():
		return s.fetchBlockEntry()
	case ch == '?' && s.checkKey():
		return s.fetchKey()
	case ch == ':' && s.checkValue():
		return s.fetchValue()
	case ch == '*':
		return s.fetchAnchorOrAlias(tAlias)
	case ch == '&':
		return s.fetchAnchorOrAlias(tAnchor)
	case ch == '!':
		return s.fetchTag()
	case ch == '|' && s.flowLevel == 0:
		return s.fetchBlockScalar('|')
	case ch == '>' && s.flowLevel == 0:
		return s.fetchBlockScalar('>')
	case ch == '\'':
		return s.fetchFlowScalar('\'')
	case ch == '"':
		return s.fetchFlowScalar('"')
	case s.checkPlain():
		return s.fetchPlain()
	}
	return markErr("while scanning for the next token", s.getMark(),
		fmt.Sprintf("found character %s that cannot start any token", python.StrReprWTF8(string(ch))), s.getMark()).noContextMark()
}

// noContextMark drops the context mark (Python passes None for it).
func (e *yamlError) noContextMark() *yamlError {
	e.contextMark = nil
	return e
}

func (s *scanner) nextPossibleSimpleKey() (int, bool) {
	min, ok := 0, false
	for _, k := range s.possibleSimpleKeys {
		if !ok || k.tokenNumber < min {
			min, ok = k.tokenNumber, true
		}
	}
	return min, ok
}

func (s *scanner) stalePossibleSimpleKeys() *yamlError {
	kept := s.possibleSimpleKeys[:0:0]
	for _, key := range s.possibleSimpleKeys {
		if key.line != s.line || s.pointer-key.index > 1024 {
			if key.required {
				return markErr("while scanning a simple key", key.mark, "could not find expected ':'", s.getMark())
			}
			continue
		}
		kept = append(kept, key)
	}
	s.possibleSimpleKeys = kept
	return nil
}

func (s *scanner) savePossibleSimpleKey() *yamlError {
	required := s.flowLevel == 0 && s.indent == s.column
	if s.allowSimpleKey {
		if err := s.removePossibleSimpleKey(); err != nil {
			return err
		}
		tokenNumber := s.tokensTaken + len(s.tokens)
		s.possibleSimpleKeys = append(s.possibleSimpleKeys, &simpleKey{
			tokenNumber: tokenNumber, required: required, index: s.pointer,
			line: s.line, column: s.column, mark: s.getMark(), level: s.flowLevel})
	}
	return nil
}

func (s *scanner) findSimpleKey(level int) int {
	for i, k := range s.possibleSimpleKeys {
		if k.level == level {
			return i
		}
	}
	return -1
}

func (s *scanner) deleteSimpleKey(i int) {
	s.possibleSimpleKeys = append(s.possibleSimpleKeys[:i:i], s.possibleSimpleKeys[i+1:]...)
}

func (s *scanner) removePossibleSimpleKey() *yamlError {
	if i := s.findSimpleKey(s.flowLevel); i >= 0 {
		key := s.possibleSimpleKeys[i]
		if key.required {
			return markErr("while scanning a simple key", key.mark, "could not find expected ':'", s.getMark())
		}
		s.deleteSimpleKey(i)
	}
	return nil
}

func (s *scanner) unwindIndent(column int) {
	if s.flowLevel != 0 {
		return
	}
	for s.indent > column {
		m := s.getMark()
		s.indent = s.indents[len(s.indents)-1]
		s.indents = s.indents[:len(s.indents)-1]
		s.tokens = append(s.tokens, &token{kind: tBlockEnd, start: m, end: m})
	}
}

func (s *scanner) addIndent(column int) bool {
	if s.indent < column {
		s.indents = append(s.indents, s.indent)
		s.indent = column
		return true
	}
	return false
}

func (s *scanner) fetchStreamEnd() *yamlError {
	s.unwindIndent(-1)
	if err := s.removePossibleSimpleKey(); err != nil {
		return err
	}
	s.allowSimpleKey = false
	s.possibleSimpleKeys = nil
	m := s.getMark()
	s.tokens = append(s.tokens, &token{kind: tStreamEnd, start: m, end: m})
	s.done = true
	return nil
}

func (s *scanner) fetchDirective() *yamlError {
	s.unwindIndent(-1)
	if err := s.removePossibleSimpleKey(); err != nil {
		return err
	}
	s.allowSimpleKey = false
	t, err := s.scanDirective()
	if err != nil {
		return err
	}
	s.tokens = append(s.tokens, t)
	return nil
}

func (s *scanner) fetchDocumentIndicator(kind tokenKind) *yamlError {
	s.unwindIndent(-1)
	if err := s.removePossibleSimpleKey(); err != nil {
		return err
	}
	s.allowSimpleKey = false
	start := s.getMark()
	s.forward(3)
	s.tokens = append(s.tokens, &token{kind: kind, start: start, end: s.getMark()})
	return nil
}

func (s *scanner) fetchFlowCollectionStart(kind tokenKind) *yamlError {
	if err := s.savePossibleSimpleKey(); err != nil {
		return err
	}
	s.flowLevel++
	s.allowSimpleKey = true
	start := s.getMark()
	s.forward(1)
	s.tokens = append(s.tokens, &token{kind: kind, start: start, end: s.getMark()})
	return nil
}

func (s *scanner) fetchFlowCollectionEnd(kind tokenKind) *yamlError {
	if err := s.removePossibleSimpleKey(); err != nil {
		return err
	}
	s.flowLevel--
	s.allowSimpleKey = false
	start := s.getMark()
	s.forward(1)
	s.tokens = append(s.tokens, &token{kind: kind, start: start, end: s.getMark()})
	return nil
}

func (s *scanner) fetchFlowEntry() *yamlError {
	s.allowSimpleKey = true
	if err := s.removePossibleSimpleKey(); err != nil {
		return err
	}
	start := s.getMark()
	s.forward(1)
	s.tokens = append(s.tokens, &token{kind: tFlowEntry, start: start, end: s.getMark()})
	return nil
}

func (s *scanner) fetchBlockEntry() *yamlError {
	if s.flowLevel == 0 {
		if !s.allowSimpleKey {
			return problemErr("sequence entries are not allowed here", s.getMark())
		}
		if s.addIndent(s.column) {
			m := s.getMark()
			s.tokens = append(s.tokens, &token{kind: tBlockSequenceStart, start: m, end: m})
		}
	}
	s.allowSimpleKey = true
	if err := s.removePossibleSimpleKey(); err != nil {
		return err
	}
	start := s.getMark()
	s.forward(1)
	s.tokens = append(s.tokens, &token{kind: tBlockEntry, start: start, end: s.getMark()})
	return nil
}

func (s *scanner) fetchKey() *yamlError {
	if s.flowLevel == 0 {
		if !s.allowSimpleKey {
			return problemErr("mapping keys are not allowed here", s.getMark())
		}
		if s.addIndent(s.column) {
			m := s.getMark()
			s.tokens = append(s.tokens, &token{kind: tBlockMappingStart, start: m, end: m})
		}
	}
	s.allowSimpleKey = s.flowLevel == 0
	if err := s.removePossibleSimpleKey(); err != nil {
		return err
	}
	start := s.getMark()
	s.forward(1)
	s.tokens = append(s.tokens, &token{kind: tKey, start: start, end: s.getMark()})
	return nil
}

func (s *scanner) insertToken(at int, t *token) {
	s.tokens = append(s.tokens, nil)
	copy(s.tokens[at+1:], s.tokens[at:])
	s.tokens[at] = t
}

func (s *scanner) fetchValue() *yamlError {
	if i := s.findSimpleKey(s.flowLevel); i >= 0 {
		key := s.possibleSimpleKeys[i]
		s.deleteSimpleKey(i)
		s.insertToken(key.tokenNumber-s.tokensTaken, &token{kind: tKey, start: key.mark, end: key.mark})
		if s.flowLevel == 0 {
			if s.addIndent(key.column) {
				s.insertToken(key.tokenNumber-s.tokensTaken, &token{kind: tBlockMappingStart, start: key.mark, end: key.mark})
			}
		}
		s.allowSimpleKey = false
	} else {
		if s.flowLevel == 0 {
			if !s.allowSimpleKey {
				return problemErr("mapping values are not allowed here", s.getMark())
			}
		}
		if s.flowLevel == 0 {
			if s.addIndent(s.column) {
				m := s.getMark()
				s.tokens = append(s.tokens, &token{kind: tBlockMappingStart, start: m, end: m})
			}
		}
		s.allowSimpleKey = s.flowLevel == 0
		if err := s.removePossibleSimpleKey(); err != nil {
			return err
		}
	}
	start := s.getMark()
	s.forward(1)
	s.tokens = append(s.tokens, &token{kind: tValue, start: start, end: s.getMark()})
	return nil
}

func (s *scanner) fetchAnchorOrAlias(kind tokenKind) *yamlError {
	if err := s.savePossibleSimpleKey(); err != nil {
		return err
	}
	s.allowSimpleKey = false
	t, err := s.scanAnchor(kind)
	if err != nil {
		return err
	}
	s.tokens = append(s.tokens, t)
	return nil
}

func (s *scanner) fetchTag() *yamlError {
	if err := s.savePossibleSimpleKey(); err != nil {
		return err
	}
	s.allowSimpleKey = false
	t, err := s.scanTag()
	if err != nil {
		return err
	}
	s.tokens = append(s.tokens, t)
	return nil
}

func (s *scanner) fetchBlockScalar(style rune) *yamlError {
	s.allowSimpleKey = true
	if err := s.removePossibleSimpleKey(); err != nil {
		return err
	}
	t, err := s.scanBlockScalar(style)
	if err != nil {
		return err
	}
	s.tokens = append(s.tokens, t)
	return nil
}

func (s *scanner) fetchFlowScalar(style rune) *yamlError {
	if err := s.savePossibleSimpleKey(); err != nil {
		return err
	}
	s.allowSimpleKey = false
	t, err := s.scanFlowScalar(style)
	if err != nil {
		return err
	}
	s.tokens = append(s.tokens, t)
	return nil
}

func (s *scanner) fetchPlain() *yamlError {
	if err := s.savePossibleSimpleKey(); err != nil {
		return err
	}
	s.allowSimpleKey = false
	t, err := s.scanPlain()
	if err != nil {
		return err
	}
	s.tokens = append(s.tokens, t)
	return nil
}

func (s *scanner) checkDirective() bool { return s.column == 0 }

func (s *scanner) checkDocumentStart() bool {
	return s.column == 0 && s.prefix(3) == "---" && in(s.peek(3), sBlankZ)
}

func (s *scanner) checkDocumentEnd() bool {
	return s.column == 0 && s.prefix(3) == "..." && in(s.peek(3), sBlankZ)
}

func (s *scanner) checkBlockEntry() bool { return in(s.peek(1), sBlankZ) }

func (s *scanner) checkKey() bool {
	if s.flowLevel != 0 {
		return true
	}
	return in(s.peek(1), sBlankZ)
}

func (s *scanner) checkValue() bool {
	if s.flowLevel != 0 {
		return true
	}
	return in(s.peek(1), sBlankZ)
}

func (s *scanner) checkPlain() bool {
	ch := s.peek(0)
	return !in(ch, sBlankZ+"-?:,[]{}#&*!|>'\"%@`") ||
		(!in(s.peek(1), sBlankZ) && (ch == '-' || (s.flowLevel == 0 && in(ch, "?:"))))
}

func (s *scanner) scanToNextToken() {
	if s.pointer == 0 && s.peek(0) == '\uFEFF' {
		s.forward(1)
	}
	found := false
	for !found {
		for s.peek(0) == ' ' {
			s.forward(1)
		}
		if s.peek(0) == '#' {
			for !in(s.peek(0), sBreakZ) {
				s.forward(1)
			}
		}
		if s.scanLineBreak() != "" {
			if s.flowLevel == 0 {
				s.allowSimpleKey = true
			}
		} else {
			found = true
		}
	}
}

func isAlnumDash(ch rune) bool {
	return ('0' <= ch && ch <= '9') || ('A' <= ch && ch <= 'Z') || ('a' <= ch && ch <= 'z') || ch == '-' || ch == '_'
}

func (s *scanner) scanDirective() (*token, *yamlError) {
	start := s.getMark()
	s.forward(1)
	name, err := s.scanDirectiveName(start)
	if err != nil {
		return nil, err
	}
	t := &token{kind: tDirective, name: name, start: start}
	switch name {
	case "YAML":
		t.major, t.minor, err = s.scanYAMLDirectiveValue(start)
		if err != nil {
			return nil, err
		}
		t.end = s.getMark()
	case "TAG":
		t.handle, t.prefix, err = s.scanTagDirectiveValue(start)
		if err != nil {
			return nil, err
		}
		t.end = s.getMark()
	default:
		t.end = s.getMark()
		for !in(s.peek(0), sBreakZ) {
			s.forward(1)
		}
	}
	if err := s.scanDirectiveIgnoredLine(start); err != nil {
		return nil, err
	}
	return t, nil
}

func (s *scanner) scanDirectiveName(start mark) (string, *yamlError) {
	length := 0
	ch := s.peek(length)
	for isAlnumDash(ch) {
		length++
		ch = s.peek(length)
	}
	if length == 0 {
		return "", markErr("while scanning a directive", start,
			fmt.Sprintf("expected alphabetic or numeric character, but found %s", python.StrReprWTF8(string(ch))), s.getMark())
	}
	value := s.prefix(length)
	s.forward(length)
	ch = s.peek(0)
	if !in(ch, sSpaceZ) {
		return "", markErr("while scanning a directive", start,
			fmt.Sprintf("expected alphabetic or numeric character, but found %s", python.StrReprWTF8(string(ch))), s.getMark())
	}
	return value, nil
}

func (s *scanner) scanYAMLDirectiveValue(start mark) (int, int, *yamlError) {
	for s.peek(0) == ' ' {
		s.forward(1)
	}
	major, err := s.scanYAMLDirectiveNumber(start)
	if err != nil {
		return 0, 0, err
	}
	if s.peek(0) != '.' {
		return 0, 0, markErr("while scanning a directive", start,
			fmt.Sprintf("expected a digit or '.', but found %s", python.StrReprWTF8(string(s.peek(0)))), s.getMark())
	}
	s.forward(1)
	minor, err := s.scanYAMLDirectiveNumber(start)
	if err != nil {
		return 0, 0, err
	}
	if !in(s.peek(0), sSpaceZ) {
		return 0, 0, markErr("while scanning a directive", start,
			fmt.Sprintf("expected a digit or ' ', but found %s", python.StrReprWTF8(string(s.peek(0)))), s.getMark())
	}
	return major, minor, nil
}

func (s *scanner) scanYAMLDirectiveNumber(start mark) (int, *yamlError) {
	ch := s.peek(0)
	if !('0' <= ch && ch <= '9') {
		return 0, markErr("while scanning a directive", start,
			fmt.Sprintf("expected a digit, but found %s", python.StrReprWTF8(string(ch))), s.getMark())
	}
	length := 0
	for '0' <= s.peek(length) && s.peek(length) <= '9' {
		length++
	}
	digits := strings.TrimLeft(s.prefix(length), "0")
	value := 0
	if len(digits) > 9 {
		value = 1 << 30 // only compared with 1
	} else if digits != "" {
		value, _ = strconv.Atoi(digits)
	}
	s.forward(length)
	return value, nil
}

func (s *scanner) scanTagDirectiveValue(start mark) (string, string, *yamlError) {
	for s.peek(0) == ' ' {
		s.forward(1)
	}
	handle, err := s.scanTagDirectiveHandle(start)
	if err != nil {
		return "", "", err
	}
	for s.peek(0) == ' ' {
		s.forward(1)
	}
	prefix, err := s.scanTagDirectivePrefix(start)
	if err != nil {
		return "", "", err
	}
	return handle, prefix, nil
}

func (s *scanner) scanTagDirectiveHandle(start mark) (string, *yamlError) {
	value, err := s.scanTagHandle("directive", start)
	if err != nil {
		return "", err
	}
	if ch := s.peek(0); ch != ' ' {
		return "", markErr("while scanning a directive", start,
			fmt.Sprintf("expected ' ', but found %s", python.StrReprWTF8(string(ch))), s.getMark())
	}
	return value, nil
}

func (s *scanner) scanTagDirectivePrefix(start mark) (string, *yamlError) {
	value, err := s.scanTagURI("directive", start)
	if err != nil {
		return "", err
	}
	if ch := s.peek(0); !in(ch, sSpaceZ) {
		return "", markErr("while scanning a directive", start,
			fmt.Sprintf("expected ' ', but found %s", python.StrReprWTF8(string(ch))), s.getMark())
	}
	return value, nil
}

func (s *scanner) scanDirectiveIgnoredLine(start mark) *yamlError {
	for s.peek(0) == ' ' {
		s.forward(1)
	}
	if s.peek(0) == '#' {
		for !in(s.peek(0), sBreakZ) {
			s.forward(1)
		}
	}
	if ch := s.peek(0); !in(ch, sBreakZ) {
		return markErr("while scanning a directive", start,
			fmt.Sprintf("expected a comment or a line break, but found %s", python.StrReprWTF8(string(ch))), s.getMark())
	}
	s.scanLineBreak()
	return nil
}

func (s *scanner) scanAnchor(kind tokenKind) (*token, *yamlError) {
	start := s.getMark()
	name := "anchor"
	if s.peek(0) == '*' {
		name = "alias"
	}
	s.forward(1)
	length := 0
	ch := s.peek(length)
	for isAlnumDash(ch) {
		length++
		ch = s.peek(length)
	}
	if length == 0 {
		return nil, markErr("while scanning an "+name, start,
			fmt.Sprintf("expected alphabetic or numeric character, but found %s", python.StrReprWTF8(string(ch))), s.getMark())
	}
	value := s.prefix(length)
	s.forward(length)
	ch = s.peek(0)
	if !in(ch, sBlankZ+"?:,]}%@`") {
		return nil, markErr("while scanning an "+name, start,
			fmt.Sprintf("expected alphabetic or numeric character, but found %s", python.StrReprWTF8(string(ch))), s.getMark())
	}
	return &token{kind: kind, value: value, start: start, end: s.getMark()}, nil
}

func (s *scanner) scanTag() (*token, *yamlError) {
	start := s.getMark()
	ch := s.peek(1)
	var handle, suffix string
	var err *yamlError
	switch {
	case ch == '<':
		s.forward(2)
		suffix, err = s.scanTagURI("tag", start)
		if err != nil {
			return nil, err
		}
		if s.peek(0) != '>' {
			return nil, markErr("while parsing a tag", start,
				fmt.Sprintf("expected '>', but found %s", python.StrReprWTF8(string(s.peek(0)))), s.getMark())
		}
		s.forward(1)
	case in(ch, sBlankZ):
		suffix = "!"
		s.forward(1)
	default:
		length := 1
		useHandle := false
		for !in(ch, sSpaceZ) {
			if ch == '!' {
				useHandle = true
				break
			}
			length++
			ch = s.peek(length)
		}
		if useHandle {
			handle, err = s.scanTagHandle("tag", start)
			if err != nil {
				return nil, err
			}
		} else {
			handle = "!"
			s.forward(1)
		}
		suffix, err = s.scanTagURI("tag", start)
		if err != nil {
			return nil, err
		}
	}
	if ch := s.peek(0); !in(ch, sSpaceZ) {
		return nil, markErr("while scanning a tag", start,
			fmt.Sprintf("expected ' ', but found %s", python.StrReprWTF8(string(ch))), s.getMark())
	}
	return &token{kind: tTag, handle: handle, suffix: suffix, start: start, end: s.getMark()}, nil
}

func (s *scanner) scanBlockScalar(style rune) (*token, *yamlError) {
	folded := style == '>'
	var chunks strings.Builder
	start := s.getMark()
	s.forward(1)
	chomping, increment, err := s.scanBlockScalarIndicators(start)
	if err != nil {
		return nil, err
	}
	if err := s.scanBlockScalarIgnoredLine(start); err != nil {
		return nil, err
	}
	minIndent := s.indent + 1
	if minIndent < 1 {
		minIndent = 1
	}
	var breaks []string
	var end mark
	var indent int
	if increment == 0 {
		var maxIndent int
		breaks, maxIndent, end = s.scanBlockScalarIndentation()
		indent = max(minIndent, maxIndent)
	} else {
		indent = minIndent + increment - 1
		breaks, end = s.scanBlockScalarBreaks(indent)
	}
	lineBreak := ""
	for s.column == indent && s.peek(0) != 0 {
		for _, b := range breaks {
			chunks.WriteString(b)
		}
		leadingNonSpace := !in(s.peek(0), " \t")
		length := 0
		for !in(s.peek(length), sBreakZ) {
			length++
		}
		chunks.WriteString(s.prefix(length))
		s.forward(length)
		lineBreak = s.scanLineBreak()
		breaks, end = s.scanBlockScalarBreaks(indent)
		if s.column == indent && s.peek(0) != 0 {
			if folded && lineBreak == "\n" && leadingNonSpace && !in(s.peek(0), " \t") {
				if len(breaks) == 0 {
					chunks.WriteString(" ")
				}
			} else {
				chunks.WriteString(lineBreak)
			}
		} else {
			break
		}
	}
	if chomping != chompStrip {
		chunks.WriteString(lineBreak)
	}
	if chomping == chompKeep {
		for _, b := range breaks {
			chunks.WriteString(b)
		}
	}
	return &token{kind: tScalar, value: chunks.String(), plain: false, start: start, end: end, style: style}, nil
}

const (
	chompClip  = 0 // None
	chompKeep  = 1 // True
	chompStrip = 2 // False
)

func (s *scanner) scanBlockScalarIndicators(start mark) (int, int, *yamlError) {
	chomping, increment := chompClip, 0
	bad0 := func() *yamlError {
		return markErr("while scanning a block scalar", start,
			"expected indentation indicator in the range 1-9, but found 0", s.getMark())
	}
	ch := s.peek(0)
	if ch == '+' || ch == '-' {
		if ch == '+' {
			chomping = chompKeep
		} else {
			chomping = chompStrip
		}
		s.forward(1)
		ch = s.peek(0)
		if '0' <= ch && ch <= '9' {
			increment = int(ch - '0')
			if increment == 0 {
				return 0, 0, bad0()
			}
			s.forward(1)
		}
	} else if '0' <= ch && ch <= '9' {
		increment = int(ch - '0')
		if increment == 0 {
			return 0, 0, bad0()
		}
		s.forward(1)
		ch = s.peek(0)
		if ch == '+' || ch == '-' {
			if ch == '+' {
				chomping = chompKeep
			} else {
				chomping = chompStrip
			}
			s.forward(1)
		}
	}
	if ch := s.peek(0); !in(ch, sSpaceZ) {
		return 0, 0, markErr("while scanning a block scalar", start,
			fmt.Sprintf("expected chomping or indentation indicators, but found %s", python.StrReprWTF8(string(ch))), s.getMark())
	}
	return chomping, increment, nil
}

func (s *scanner) scanBlockScalarIgnoredLine(start mark) *yamlError {
	for s.peek(0) == ' ' {
		s.forward(1)
	}
	if s.peek(0) == '#' {
		for !in(s.peek(0), sBreakZ) {
			s.forward(1)
		}
	}
	if ch := s.peek(0); !in(ch, sBreakZ) {
		return markErr("while scanning a block scalar", start,
			fmt.Sprintf("expected a comment or a line break, but found %s", python.StrReprWTF8(string(ch))), s.getMark())
	}
	s.scanLineBreak()
	return nil
}

func (s *scanner) scanBlockScalarIndentation() ([]string, int, mark) {
	var chunks []string
	maxIndent := 0
	end := s.getMark()
	for in(s.peek(0), " "+sBreak) {
		if s.peek(0) != ' ' {
			chunks = append(chunks, s.scanLineBreak())
			end = s.getMark()
		} else {
			s.forward(1)
			if s.column > maxIndent {
				maxIndent = s.column
			}
		}
	}
	return chunks, maxIndent, end
}

func (s *scanner) scanBlockScalarBreaks(indent int) ([]string, mark) {
	var chunks []string
	end := s.getMark()
	for s.column < indent && s.peek(0) == ' ' {
		s.forward(1)
	}
	for in(s.peek(0), sBreak) {
		chunks = append(chunks, s.scanLineBreak())
		end = s.getMark()
		for s.column < indent && s.peek(0) == ' ' {
			s.forward(1)
		}
	}
	return chunks, end
}

func (s *scanner) scanFlowScalar(style rune) (*token, *yamlError) {
	double := style == '"'
	var chunks []byte
	start := s.getMark()
	quote := s.peek(0)
	s.forward(1)
	var err *yamlError
	chunks, err = s.scanFlowScalarNonSpaces(chunks, double, start)
	if err != nil {
		return nil, err
	}
	for s.peek(0) != quote {
		chunks, err = s.scanFlowScalarSpaces(chunks, double, start)
		if err != nil {
			return nil, err
		}
		chunks, err = s.scanFlowScalarNonSpaces(chunks, double, start)
		if err != nil {
			return nil, err
		}
	}
	s.forward(1)
	return &token{kind: tScalar, value: string(chunks), plain: false, start: start, end: s.getMark(), style: style}, nil
}

var escapeReplacements = map[rune]string{
	'0': "\x00", 'a': "\x07", 'b': "\x08", 't': "\x09", '\t': "\x09", 'n': "\x0A",
	'v': "\x0B", 'f': "\x0C", 'r': "\x0D", 'e': "\x1B", ' ': "\x20", '"': "\"",
	'\\': "\\", '/': "/", 'N': "\u0085", '_': "\u00A0", 'L': "\u2028", 'P': "\u2029",
}

var escapeCodes = map[rune]int{'x': 2, 'u': 4, 'U': 8}

func (s *scanner) scanFlowScalarNonSpaces(chunks []byte, double bool, start mark) ([]byte, *yamlError) {
	for {
		length := 0
		for !in(s.peek(length), "'\"\\"+sBlankZ) {
			length++
		}
		if length > 0 {
			chunks = append(chunks, s.prefix(length)...)
			s.forward(length)
		}
		ch := s.peek(0)
		switch {
		case !double && ch == '\'' && s.peek(1) == '\'':
			chunks = append(chunks, '\'')
			s.forward(2)
		case (double && ch == '\'') || (!double && (ch == '"' || ch == '\\')):
			chunks = append(chunks, byte(ch))
			s.forward(1)
		case double && ch == '\\':
			s.forward(1)
			ch = s.peek(0)
			if rep, ok := escapeReplacements[ch]; ok {
				chunks = append(chunks, rep...)
				s.forward(1)
			} else if length, ok := escapeCodes[ch]; ok {
				s.forward(1)
				for k := 0; k < length; k++ {
					if !in(s.peek(k), "0123456789ABCDEFabcdef") {
						return nil, markErr("while scanning a double-quoted scalar", start,
							fmt.Sprintf("expected escape sequence of %d hexadecimal numbers, but found %s", length, python.StrReprWTF8(string(s.peek(k)))),
							s.getMark())
					}
				}
				code, _ := strconv.ParseUint(s.prefix(length), 16, 64)
				if code > 0x10FFFF {
					// chr() raises ValueError (not a YAMLError; the load fails).
					return nil, problemErr("chr() arg not in range(0x110000)", s.getMark())
				}
				chunks = python.AppendRuneWTF8(chunks, rune(code))
				s.forward(length)
			} else if in(ch, sBreak) {
				s.scanLineBreak()
				var brks []string
				var err *yamlError
				brks, err = s.scanFlowScalarBreaks(double, start)
				if err != nil {
					return nil, err
				}
				for _, b := range brks {
					chunks = append(chunks, b...)
				}
			} else {
				return nil, markErr("while scanning a double-quoted scalar", start,
					fmt.Sprintf("found unknown escape character %s", python.StrReprWTF8(string(ch))), s.getMark())
			}
		default:
			return chunks, nil
		}
	}
}

func (s *scanner) scanFlowScalarSpaces(chunks []byte, double bool, start mark) ([]byte, *yamlError) {
	length := 0
	for in(s.peek(length), " \t") {
		length++
	}
	whitespaces := s.prefix(length)
	s.forward(length)
	ch := s.peek(0)
	if ch == 0 {
		return nil, markErr("while scanning a quoted scalar", start, "found unexpected end of stream", s.getMark())
	} else if in(ch, sBreak) {
		lineBreak := s.scanLineBreak()
		breaks, err := s.scanFlowScalarBreaks(double, start)
		if err != nil {
			return nil, err
		}
		if lineBreak != "\n" {
			chunks = append(chunks, lineBreak...)
		} else if len(breaks) == 0 {
			chunks = append(chunks, ' ')
		}
		for _, b := range breaks {
			chunks = append(chunks, b...)
		}
	} else {
		chunks = append(chunks, whitespaces...)
	}
	return chunks, nil
}

func (s *scanner) scanFlowScalarBreaks(double bool, start mark) ([]string, *yamlError) {
	var chunks []string
	for {
		prefix := s.prefix(3)
		if (prefix == "---" || prefix == "...") && in(s.peek(3), sBlankZ) {
			return nil, markErr("while scanning a quoted scalar", start, "found unexpected document separator", s.getMark())
		}
		for in(s.peek(0), " \t") {
			s.forward(1)
		}
		if in(s.peek(0), sBreak) {
			chunks = append(chunks, s.scanLineBreak())
		} else {
			return chunks, nil
		}
	}
}

func (s *scanner) scanPlain() (*token, *yamlError) {
	var chunks strings.Builder
	start := s.getMark()
	end := start
	indent := s.indent + 1
	var spaces []string
	for {
		length := 0
		if s.peek(0) == '#' {
			break
		}
		for {
			ch := s.peek(length)
			stop := sBlankZ
			if s.flowLevel != 0 {
				stop += ",[]{}"
			}
			if in(ch, sBlankZ) || (ch == ':' && in(s.peek(length+1), stop)) || (s.flowLevel != 0 && in(ch, ",?[]{}")) {
				break
			}
			length++
		}
		if length == 0 {
			break
		}
		s.allowSimpleKey = false
		for _, sp := range spaces {
			chunks.WriteString(sp)
		}
		chunks.WriteString(s.prefix(length))
		s.forward(length)
		end = s.getMark()
		var ok bool
		spaces, ok = s.scanPlainSpaces(indent, start)
		if !ok || len(spaces) == 0 || s.peek(0) == '#' || (s.flowLevel == 0 && s.column < indent) {
			break
		}
	}
	return &token{kind: tScalar, value: chunks.String(), plain: true, start: start, end: end}, nil
}

// scanPlainSpaces returns ok=false where Python returns None.
func (s *scanner) scanPlainSpaces(indent int, start mark) ([]string, bool) {
	var chunks []string
	length := 0
	for s.peek(length) == ' ' {
		length++
	}
	whitespaces := s.prefix(length)
	s.forward(length)
	ch := s.peek(0)
	if in(ch, sBreak) {
		lineBreak := s.scanLineBreak()
		s.allowSimpleKey = true
		prefix := s.prefix(3)
		if (prefix == "---" || prefix == "...") && in(s.peek(3), sBlankZ) {
			return nil, false
		}
		var breaks []string
		for in(s.peek(0), " "+sBreak) {
			if s.peek(0) == ' ' {
				s.forward(1)
			} else {
				breaks = append(breaks, s.scanLineBreak())
				prefix := s.prefix(3)
				if (prefix == "---" || prefix == "...") && in(s.peek(3), sBlankZ) {
					return nil, false
				}
			}
		}
		if lineBreak != "\n" {
			chunks = append(chunks, lineBreak)
		} else if len(breaks) == 0 {
			chunks = append(chunks, " ")
		}
		chunks = append(chunks, breaks...)
	} else if whitespaces != "" {
		chunks = append(chunks, whitespaces)
	}
	return chunks, true
}

func (s *scanner) scanTagHandle(name string, start mark) (string, *yamlError) {
	ch := s.peek(0)
	if ch != '!' {
		return "", markErr("while scanning a "+name, start,
			fmt.Sprintf("expected '!', but found %s", python.StrReprWTF8(string(ch))), s.getMark())
	}
	length := 1
	ch = s.peek(length)
	if ch != ' ' {
		for isAlnumDash(ch) {
			length++
			ch = s.peek(length)
		}
		if ch != '!' {
			s.forward(length)
			return "", markErr("while scanning a "+name, start,
				fmt.Sprintf("expected '!', but found %s", python.StrReprWTF8(string(ch))), s.getMark())
		}
		length++
	}
	value := s.prefix(length)
	s.forward(length)
	return value, nil
}

func (s *scanner) scanTagURI(name string, start mark) (string, *yamlError) {
	var chunks strings.Builder
	any := false
	length := 0
	ch := s.peek(length)
	for isAlnumDash(ch) || in(ch, ";/?:@&=+$,.!~*'()[]%") {
		if ch == '%' {
			chunks.WriteString(s.prefix(length))
			s.forward(length)
			length = 0
			v, err := s.scanURIEscapes(name, start)
			if err != nil {
				return "", err
			}
			chunks.WriteString(v)
			any = true
		} else {
			length++
		}
		ch = s.peek(length)
	}
	if length > 0 {
		chunks.WriteString(s.prefix(length))
		s.forward(length)
		any = true
	}
	if !any {
		return "", markErr("while parsing a "+name, start,
			fmt.Sprintf("expected URI, but found %s", python.StrReprWTF8(string(ch))), s.getMark())
	}
	return chunks.String(), nil
}

func (s *scanner) scanURIEscapes(name string, start mark) (string, *yamlError) {
	var codes []byte
	m := s.getMark()
	for s.peek(0) == '%' {
		s.forward(1)
		for k := 0; k < 2; k++ {
			if !in(s.peek(k), "0123456789ABCDEFabcdef") {
				return "", markErr("while scanning a "+name, start,
					fmt.Sprintf("expected URI escape sequence of 2 hexadecimal numbers, but found %s", python.StrReprWTF8(string(s.peek(k)))),
					s.getMark())
			}
		}
		c, _ := strconv.ParseUint(s.prefix(2), 16, 8)
		codes = append(codes, byte(c))
		s.forward(2)
	}
	if !utf8.Valid(codes) {
		return "", markErr("while scanning a "+name, start, "'utf-8' codec can't decode the URI escape sequence", m)
	}
	return string(codes), nil
}

func (s *scanner) scanLineBreak() string {
	ch := s.peek(0)
	if in(ch, "\r\n\u0085") {
		if s.prefix(2) == "\r\n" {
			s.forward(2)
		} else {
			s.forward(1)
		}
		return "\n"
	} else if ch == '\u2028' || ch == '\u2029' {
		s.forward(1)
		return string(ch)
	}
	return ""
}

package python

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
)

// charNamesGz is the output of gen_charnames.py, gzip-compressed: the
// names and name aliases \N{NAME} accepts in Python 3.11 (Unicode 14.0.0).
// TestCharNamesData checks it against the interpreter and rewrites it when
// OSLOREGO_UPDATE_CHARNAMES=1.
//
//go:embed charnames14.gz
var charNamesGz []byte

// charNameDB is the decoded name table. It is built once, on the first
// \N{...} escape, and never changed afterwards.
type charNameDB struct {
	byName                    map[string]rune // names and aliases, upper case
	list                      []CharName      // the same, in table order
	cjk                       [][2]rune       // CJK UNIFIED IDEOGRAPH-XXXX ranges
	hangulL, hangulV, hangulT []string        // jamo short names
}

var charNames = sync.OnceValues(func() (*charNameDB, error) {
	db, err := parseCharNames(charNamesGz)
	if err != nil {
		return nil, fmt.Errorf("reading the embedded character names: %w", err)
	}
	return db, nil
})

// parseCharNames decodes the gzip-compressed format gen_charnames.py
// describes.
func parseCharNames(gz []byte) (*charNameDB, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	text, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	db := &charNameDB{byName: make(map[string]rune, 36000)}
	section := ""
	var cp rune
	var prev string
	sc := bufio.NewScanner(bytes.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		bad := func(err error) (*charNameDB, error) {
			return nil, fmt.Errorf("line %d %q: %w", n, line, err)
		}
		key, rest, _ := strings.Cut(line, " ")
		switch key {
		case "":
			return bad(fmt.Errorf("empty item"))
		case "names", "aliases":
			section, cp, prev = key, 0, ""
			continue
		case "cjk":
			lo, hi, _ := strings.Cut(rest, " ")
			l, err1 := strconv.ParseUint(lo, 16, 21)
			h, err2 := strconv.ParseUint(hi, 16, 21)
			if err1 != nil || err2 != nil || l > h {
				return bad(fmt.Errorf("bad range"))
			}
			db.cjk = append(db.cjk, [2]rune{rune(l), rune(h)})
			continue
		case "hangul-l":
			db.hangulL = strings.Split(rest, ",")
			continue
		case "hangul-v":
			db.hangulV = strings.Split(rest, ",")
			continue
		case "hangul-t":
			db.hangulT = strings.Split(rest, ",")
			continue
		}
		if key[0] == '#' {
			continue
		}
		if section == "" {
			return bad(fmt.Errorf("record outside a section"))
		}
		shared, suffix, ok := strings.Cut(rest, " ")
		delta, err1 := strconv.ParseUint(key, 16, 21)
		k, err2 := strconv.Atoi(shared)
		if !ok || err1 != nil || err2 != nil || k > len(prev) || cp+rune(delta) > 0x10ffff {
			return bad(fmt.Errorf("bad record"))
		}
		cp += rune(delta)
		prev = prev[:k] + suffix
		if _, dup := db.byName[prev]; dup {
			return bad(fmt.Errorf("duplicate name %q", prev))
		}
		db.byName[prev] = cp
		db.list = append(db.list, CharName{Name: prev, Rune: cp, Alias: section == "aliases"})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(db.byName) == 0 || len(db.cjk) == 0 || len(db.hangulL) != hangulLCount ||
		len(db.hangulV) != hangulVCount || len(db.hangulT) != hangulTCount {
		return nil, fmt.Errorf("incomplete table (%d names, %d CJK ranges, %d/%d/%d jamo)",
			len(db.byName), len(db.cjk), len(db.hangulL), len(db.hangulV), len(db.hangulT))
	}
	return db, nil
}

// CharName is a character name or name alias that a \N{NAME} escape of a
// Python 3.11 str literal accepts (in any ASCII case).
type CharName struct {
	Name  string
	Rune  rune
	Alias bool // a formal name alias (NameAliases.txt), not the character's name
}

// CharNames lists the names and aliases of Python 3.11's table that are
// stored rather than computed, names first, each part sorted by code point.
// The computed names are HANGUL SYLLABLE ... (U+AC00..U+D7A3) and CJK
// UNIFIED IDEOGRAPH-XXXX. The slice is shared: callers must not modify it.
func CharNames() ([]CharName, error) {
	db, err := charNames()
	if err != nil {
		return nil, err
	}
	return db.list, nil
}

const (
	hangulSBase  = 0xAC00
	hangulLCount = 19
	hangulVCount = 21
	hangulTCount = 28
)

// lookup is unicodedata's _getcode(name, with_named_seq=0), the function
// the unicode_escape codec calls for \N{name}: Hangul syllable and CJK
// unified ideograph names are computed behind a case-sensitive prefix (and
// only there), every other name and alias matches without regard to ASCII
// case, and named sequences are not names.
func (db *charNameDB) lookup(name []byte) (rune, bool) {
	const hangul, cjk = "HANGUL SYLLABLE ", "CJK UNIFIED IDEOGRAPH-"
	if rest, ok := bytes.CutPrefix(name, []byte(hangul)); ok {
		pos := 0
		l, n := findSyllable(rest, db.hangulL)
		pos += n
		v, n := findSyllable(rest[pos:], db.hangulV)
		pos += n
		t, n := findSyllable(rest[pos:], db.hangulT)
		pos += n
		if l < 0 || v < 0 || t < 0 || pos != len(rest) {
			return 0, false
		}
		return rune(hangulSBase + (l*hangulVCount+v)*hangulTCount + t), true
	}
	if digits, ok := bytes.CutPrefix(name, []byte(cjk)); ok {
		if len(digits) != 4 && len(digits) != 5 {
			return 0, false
		}
		var v rune
		for _, c := range digits {
			switch {
			case c >= '0' && c <= '9':
				v = v<<4 | rune(c-'0')
			case c >= 'A' && c <= 'F': // upper case only
				v = v<<4 | rune(c-'A'+10)
			default:
				return 0, false
			}
		}
		for _, r := range db.cjk {
			if v >= r[0] && v <= r[1] {
				return v, true
			}
		}
		return 0, false
	}
	upper := make([]byte, len(name))
	for i, c := range name {
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		upper[i] = c
	}
	r, ok := db.byName[string(upper)]
	return r, ok
}

// findSyllable is find_syllable of unicodedata.c: the index of the longest
// column entry that s starts with (the first one of that length), and its
// length; -1 and 0 when none does. Entries may be empty.
func findSyllable(s []byte, column []string) (pos, n int) {
	pos, n = -1, -1
	for i, e := range column {
		if len(e) <= n {
			continue
		}
		if bytes.HasPrefix(s, []byte(e)) {
			pos, n = i, len(e)
		}
	}
	if n < 0 {
		n = 0
	}
	return pos, n
}

// Ported from CPython 3.11.2 Objects/unicodeobject.c PyUnicode_Format, the % operator oslo.policy applies (PSF License); see NOTICE.

package oslo

import (
	"fmt"
	"strconv"
	"strings"
)

// Segment is one piece of a MATCH format string, as CPython's
// PyUnicode_Format walks it left to right when oslo runs `match % target`.
type Segment struct {
	// Lit is literal text ("%%" already turned into "%"); used when Conv is 0
	// and Err is empty.
	Lit string
	// Key is the mapping key of "%(key)..."; Bare marks a conversion without
	// a key, which formats the whole target.
	Key   string
	Keyed bool
	Bare  bool
	// Flags, Width and Prec are the conversion's flags ("-+ #0"), minimum
	// width and precision (-1 when absent). Conv is the conversion letter.
	Flags       string
	Width, Prec int
	Conv        byte
	// Err is raised when the segment is reached (after its key lookup, if
	// keyed): a format Python rejects, or one oslorego cannot evaluate.
	Err string
}

// Format is a parsed MATCH string.
type Format struct {
	Segs []Segment
	// UsesTarget is false when the format has no conversion at all; Python
	// then still requires the target to be a mapping ("not all arguments
	// converted").
	UsesWhole bool
}

// Const reports whether the format is plain text, and the text.
func (f Format) Const() (string, bool) {
	var b strings.Builder
	for _, s := range f.Segs {
		if s.Keyed || s.Bare || s.Err != "" {
			return "", false
		}
		b.WriteString(s.Lit)
	}
	return b.String(), true
}

// SingleKey reports whether the format is exactly "%(key)s".
func (f Format) SingleKey() (string, bool) {
	if len(f.Segs) != 1 {
		return "", false
	}
	s := f.Segs[0]
	if s.Keyed && s.Err == "" && s.Conv == 's' && s.Flags == "" && s.Width < 0 && s.Prec < 0 {
		return s.Key, true
	}
	return "", false
}

// ParseFormat parses s the way CPython 3.11's PyUnicode_Format does with a
// mapping argument. Errors Python raises when it reaches a spot are kept as
// segments, because an earlier missing key makes oslo's check False before
// the error is reached.
func ParseFormat(s string) Format {
	var f Format
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			f.Segs = append(f.Segs, Segment{Lit: lit.String(), Width: -1, Prec: -1})
			lit.Reset()
		}
	}
	// consumed tracks CPython's argidx: a bare conversion may take the whole
	// target only while nothing has consumed an argument yet.
	consumed := false
	i := 0
	for i < len(s) {
		c := s[i]
		if c != '%' {
			lit.WriteByte(c)
			i++
			continue
		}
		i++
		if i < len(s) && s[i] == '%' {
			lit.WriteByte('%')
			i++
			continue
		}
		flush()
		seg := Segment{Width: -1, Prec: -1}
		fail := func(msg string) {
			seg.Err = msg
			f.Segs = append(f.Segs, seg)
		}
		if i < len(s) && s[i] == '(' {
			depth, j := 1, i+1
			for j < len(s) && depth > 0 {
				switch s[j] {
				case '(':
					depth++
				case ')':
					depth--
				}
				j++
			}
			if depth > 0 {
				fail("ValueError: incomplete format key")
				return f
			}
			seg.Key, seg.Keyed = s[i+1:j-1], true
			consumed = false
			i = j
		}
		for i < len(s) && strings.IndexByte("-+ #0", s[i]) >= 0 {
			if !strings.Contains(seg.Flags, string(s[i])) {
				seg.Flags += string(s[i])
			}
			i++
		}
		star := false
		if i < len(s) && s[i] == '*' {
			star = true
			i++
		} else {
			j := i
			for i < len(s) && s[i] >= '0' && s[i] <= '9' {
				i++
			}
			if i > j {
				w, err := strconv.Atoi(s[j:i])
				if err != nil || w > 1<<31-1 {
					fail("ValueError: width too big")
					return f
				}
				seg.Width = w
			}
		}
		if i < len(s) && s[i] == '.' {
			i++
			if i < len(s) && s[i] == '*' {
				star = true
				i++
			} else {
				j := i
				for i < len(s) && s[i] >= '0' && s[i] <= '9' {
					i++
				}
				p := 0
				if i > j {
					var err error
					if p, err = strconv.Atoi(s[j:i]); err != nil || p > 1<<31-1 {
						fail("ValueError: precision too big")
						return f
					}
				}
				seg.Prec = p
			}
		}
		if i < len(s) && (s[i] == 'h' || s[i] == 'l' || s[i] == 'L') {
			i++
		}
		if i >= len(s) {
			fail("ValueError: incomplete format")
			return f
		}
		seg.Conv = s[i]
		convAt := i
		i++
		if !seg.Keyed {
			if consumed {
				fail("TypeError: not enough arguments for format string")
				continue
			}
			seg.Bare = true
			f.UsesWhole = true
		}
		consumed = true
		switch {
		case star:
			// "*" takes the next argument as the width: the target (a
			// mapping) or the looked-up value, never followed by another
			// argument, so Python always raises here.
			seg.Err = "TypeError: * wants int"
		case seg.Conv == '%':
			seg.Err = fmt.Sprintf("ValueError: unsupported format character '%%' (0x25) at index %d", convAt)
		case strings.IndexByte("srdiuaoxXeEfFgGc", seg.Conv) < 0:
			r := []rune(s[convAt:])[0]
			seg.Err = fmt.Sprintf("ValueError: unsupported format character '%s' (0x%x) at index %d", string(r), r, len([]rune(s[:convAt])))
		}
		f.Segs = append(f.Segs, seg)
	}
	flush()
	return f
}

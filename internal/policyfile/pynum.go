// Ported from CPython 3.11.2 int(), float() and datetime (Objects/longobject.c, floatobject.c, Modules/_datetimemodule.c; PSF License); see NOTICE.

package policyfile

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/oslorego/oslorego/internal/python"
)

// Emulation of the Python builtins that PyYAML's SafeConstructor and the
// json module call on scalar text: int(s, base), float(s) and the
// datetime constructors, with their validation rules.

// pyTransform mirrors _PyUnicode_TransformDecimalAndSpaceToASCII: Unicode
// whitespace becomes ' ', Unicode decimal digits become ASCII digits, other
// non-ASCII characters become '?' (which no number parser accepts).
func pyTransform(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		r, n := python.DecodeRuneWTF8(s)
		s = s[n:]
		switch {
		case r < 0x80 && !python.IsSpace(r):
			b.WriteRune(r)
		case python.IsSpace(r):
			b.WriteByte(' ')
		case unicode.Is(unicode.Nd, r):
			b.WriteByte(byte('0' + decimalValue(r)))
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

// decimalValue returns the digit value of a Unicode Nd code point: Nd
// code points come in runs of ten that start with zero.
func decimalValue(r rune) int {
	for _, rg := range unicode.Nd.R16 {
		if rune(rg.Lo) <= r && r <= rune(rg.Hi) {
			return int(r-rune(rg.Lo)) % 10
		}
	}
	for _, rg := range unicode.Nd.R32 {
		if rune(rg.Lo) <= r && r <= rune(rg.Hi) {
			return int(r-rune(rg.Lo)) % 10
		}
	}
	return 0
}

func trimASCIISpace(s string) string {
	return strings.Trim(s, " \t\n\v\f\r")
}

// pyInt emulates Python's int(s, base) for base 2, 8, 10 and 16.
func pyIntParse(s string, base int) (*big.Int, error) {
	bad := fmt.Errorf("invalid literal for int() with base %d: %s", base, python.StrReprWTF8(s))
	t := trimASCIISpace(pyTransform(s))
	neg := false
	if t != "" && (t[0] == '+' || t[0] == '-') {
		neg = t[0] == '-'
		t = t[1:]
	}
	if len(t) >= 2 && t[0] == '0' {
		p := t[1] | 0x20
		if (base == 16 && p == 'x') || (base == 8 && p == 'o') || (base == 2 && p == 'b') {
			t = t[2:]
			if t != "" && t[0] == '_' {
				t = t[1:]
			}
		}
	}
	if t == "" || t[0] == '_' || t[len(t)-1] == '_' {
		return nil, bad
	}
	digits := make([]byte, 0, len(t))
	prevUnderscore := false
	for i := 0; i < len(t); i++ {
		c := t[i]
		if c == '_' {
			if prevUnderscore {
				return nil, bad
			}
			prevUnderscore = true
			continue
		}
		prevUnderscore = false
		var d int
		switch {
		case c >= '0' && c <= '9':
			d = int(c - '0')
		case c >= 'a' && c <= 'z':
			d = int(c-'a') + 10
		case c >= 'A' && c <= 'Z':
			d = int(c-'A') + 10
		default:
			return nil, bad
		}
		if d >= base {
			return nil, bad
		}
		digits = append(digits, c)
	}
	if base == 10 && len(digits) > python.IntMaxStrDigits {
		//lint:ignore ST1005 Python's own message, which the oracle's answers carry verbatim
		return nil, fmt.Errorf("Exceeds the limit (%d digits) for integer string conversion: value has %d digits; use sys.set_int_max_str_digits() to increase the limit", python.IntMaxStrDigits, len(digits))
	}
	n, ok := new(big.Int).SetString(string(digits), base)
	if !ok {
		return nil, bad
	}
	if neg {
		n.Neg(n)
	}
	return n, nil
}

// pyFloat emulates Python's float(s) for a str argument.
func pyFloatParse(s string) (float64, error) {
	bad := fmt.Errorf("could not convert string to float: %s", python.StrReprWTF8(s))
	t := trimASCIISpace(pyTransform(s))
	if strings.Contains(t, "_") {
		// PEP 515: single underscores between digits only.
		for i := 0; i < len(t); i++ {
			if t[i] == '_' && (i == 0 || i == len(t)-1 || !isDigit(t[i-1]) || !isDigit(t[i+1])) {
				return 0, bad
			}
		}
		t = strings.ReplaceAll(t, "_", "")
	}
	body := t
	neg := false
	if body != "" && (body[0] == '+' || body[0] == '-') {
		neg = body[0] == '-'
		body = body[1:]
	}
	switch strings.ToLower(body) {
	case "inf", "infinity":
		if neg {
			return math.Inf(-1), nil
		}
		return math.Inf(1), nil
	case "nan":
		return math.NaN(), nil
	}
	if !isDecimalFloat(body) {
		return 0, bad
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, bad
	}
	return f, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isDecimalFloat reports whether s is digits[.digits][e[+-]digits] with at
// least one mantissa digit (the syntax Python's float() accepts, sign
// already removed).
func isDecimalFloat(s string) bool {
	i, n := 0, 0
	for i < len(s) && isDigit(s[i]) {
		i++
		n++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && isDigit(s[i]) {
			i++
			n++
		}
	}
	if n == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		m := 0
		for i < len(s) && isDigit(s[i]) {
			i++
			m++
		}
		if m == 0 {
			return false
		}
	}
	return i == len(s)
}

// pyDatetime is a datetime.date or a datetime.datetime (naive, or aware
// with a fixed offset).
type pyDatetime struct {
	isDate                                         bool
	year, month, day, hour, minute, second, micros int
	hasTZ                                          bool
	tzSeconds                                      int
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// validate applies the checks of the datetime constructors.
func (d *pyDatetime) validate() error {
	if d.year < 1 || d.year > 9999 {
		return fmt.Errorf("year %d is out of range", d.year)
	}
	if d.month < 1 || d.month > 12 {
		return errors.New("month must be in 1..12")
	}
	if d.day < 1 || d.day > daysIn(d.year, d.month) {
		return errors.New("day is out of range for month")
	}
	if d.isDate {
		return nil
	}
	if d.hour > 23 {
		return errors.New("hour must be in 0..23")
	}
	if d.minute > 59 {
		return errors.New("minute must be in 0..59")
	}
	if d.second > 59 {
		return errors.New("second must be in 0..59")
	}
	if d.hasTZ && (d.tzSeconds <= -86400 || d.tzSeconds >= 86400) {
		return errors.New("offset must be a timedelta strictly between -timedelta(hours=24) and timedelta(hours=24)")
	}
	return nil
}

func (d *pyDatetime) dateKey() string {
	return fmt.Sprintf("%d-%d-%d", d.year, d.month, d.day)
}

// datetimeKey identifies a datetime for == : naive datetimes by their
// fields, aware ones by their UTC instant (naive and aware never compare
// equal).
func (d *pyDatetime) datetimeKey() string {
	t := time.Date(d.year, time.Month(d.month), d.day, d.hour, d.minute, d.second, d.micros*1000, time.UTC)
	if !d.hasTZ {
		return "n" + t.Format("2006-01-02T15:04:05.000000")
	}
	t = t.Add(-time.Duration(d.tzSeconds) * time.Second)
	return fmt.Sprintf("a%d.%06d", t.Unix(), d.micros)
}

func (d *pyDatetime) repr() string {
	if d.isDate {
		return fmt.Sprintf("datetime.date(%d, %d, %d)", d.year, d.month, d.day)
	}
	s := fmt.Sprintf("datetime.datetime(%d, %d, %d, %d, %d", d.year, d.month, d.day, d.hour, d.minute)
	if d.micros != 0 {
		s += fmt.Sprintf(", %d, %d", d.second, d.micros)
	} else if d.second != 0 {
		s += fmt.Sprintf(", %d", d.second)
	}
	if d.hasTZ {
		s += ", tzinfo=" + tzRepr(d.tzSeconds)
	}
	return s + ")"
}

func tzRepr(sec int) string {
	if sec == 0 {
		return "datetime.timezone.utc"
	}
	days := sec / 86400
	if sec%86400 != 0 && sec < 0 {
		days--
	}
	rest := sec - days*86400
	var parts []string
	if days != 0 {
		parts = append(parts, fmt.Sprintf("days=%d", days))
	}
	if rest != 0 {
		parts = append(parts, fmt.Sprintf("seconds=%d", rest))
	}
	return "datetime.timezone(datetime.timedelta(" + strings.Join(parts, ", ") + "))"
}

func (d *pyDatetime) str() string {
	s := fmt.Sprintf("%04d-%02d-%02d", d.year, d.month, d.day)
	if d.isDate {
		return s
	}
	s += fmt.Sprintf(" %02d:%02d:%02d", d.hour, d.minute, d.second)
	if d.micros != 0 {
		s += fmt.Sprintf(".%06d", d.micros)
	}
	if d.hasTZ {
		off := d.tzSeconds
		sign := "+"
		if off < 0 {
			sign = "-"
			off = -off
		}
		s += fmt.Sprintf("%s%02d:%02d", sign, off/3600, off/60%60)
		if off%60 != 0 {
			s += fmt.Sprintf(":%02d", off%60)
		}
	}
	return s
}

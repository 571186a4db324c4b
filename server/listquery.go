// Follows WebOb 1.8 (webob/compat.py parse_qsl_text, webob/multidict.py; MIT), Glance 25.1.0
// glance/common/utils.py (split_filter_op, validate_quotes, split_filter_value_for_quotes;
// Apache-2.0) and iso8601 1.0.2 (parse_date; MIT); see NOTICE.

package server

import (
	"math/big"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/oslorego/oslorego/internal/python"
)

// glanceParams is a query string as Glance's WebOb reads it: an ordered
// multi-dict. get is the last value of a key, pop removes the first, set
// replaces every value by one at the end. Glance's listing depends on
// these (a repeated limit or visibility leaves a second value behind that
// becomes a filter), so they are kept exactly.
type glanceParams []glanceParam

type glanceParam struct {
	key, value string
	// tags marks the value Glance's deserializer sets under "tags": the
	// list of tag parameters, not a string.
	tags []string
}

// parseGlanceQuery reads a raw query string as WebOb's parse_qsl_text
// (Python 3): '+' is a space, pairs are split on '&' and ';', empty ones
// dropped, and names and values %-decoded and then decoded as UTF-8; ok
// is false when a name or value is not UTF-8 (Glance's 400).
func parseGlanceQuery(raw string) (p glanceParams, ok bool) {
	raw = strings.ReplaceAll(raw, "+", " ")
	for _, amp := range strings.Split(raw, "&") {
		for _, pair := range strings.Split(amp, ";") {
			if pair == "" {
				continue
			}
			k, v, _ := strings.Cut(pair, "=")
			k, v = webobUnquote(k), webobUnquote(v)
			if !utf8.ValidString(k) || !utf8.ValidString(v) {
				return nil, false
			}
			p = append(p, glanceParam{key: k, value: v})
		}
	}
	return p, true
}

// webobUnquote is WebOb's unquote: each "%" takes the next two bytes as
// Python's int(b, 16) reads them (surrounding blanks allowed, a lone
// digit at the end too); when that fails the "%" stays as it is.
func webobUnquote(s string) string {
	parts := strings.Split(s, "%")
	if len(parts) == 1 {
		return s
	}
	var b strings.Builder
	b.WriteString(parts[0])
	for _, item := range parts[1:] {
		n := min(2, len(item))
		if v, ok := hexByte(item[:n]); ok {
			b.WriteByte(v)
			b.WriteString(item[n:])
			continue
		}
		b.WriteByte('%')
		b.WriteString(item)
	}
	return b.String()
}

// hexByte is bytes([int(s, 16)]) for s of at most two bytes.
func hexByte(s string) (byte, bool) {
	s = strings.Trim(s, " \t\n\r\v\f")
	neg := strings.HasPrefix(s, "-")
	v, err := strconv.ParseUint(strings.TrimPrefix(s, "-"), 16, 8)
	if err != nil || neg && v != 0 {
		return 0, false
	}
	return byte(v), true
}

func (p glanceParams) get(key string) (string, bool) {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i].key == key {
			return p[i].value, true
		}
	}
	return "", false
}

func (p glanceParams) has(key string) bool {
	_, ok := p.get(key)
	return ok
}

func (p *glanceParams) pop(key string) (string, bool) {
	kv, ok := p.popParam(key)
	return kv.value, ok
}

func (p *glanceParams) popParam(key string) (glanceParam, bool) {
	for i, kv := range *p {
		if kv.key == key {
			*p = append((*p)[:i:i], (*p)[i+1:]...)
			return kv, true
		}
	}
	return glanceParam{}, false
}

func (p *glanceParams) set(kv glanceParam) {
	out := (*p)[:0:0]
	for _, old := range *p {
		if old.key != kv.key {
			out = append(out, old)
		}
	}
	*p = append(out, kv)
}

// dict is dict(multidict): each key once, where it first appears, with
// its last value.
func (p glanceParams) dict() glanceParams {
	at := map[string]int{}
	var out glanceParams
	for _, kv := range p {
		if i, seen := at[kv.key]; seen {
			out[i] = kv
			continue
		}
		at[kv.key] = len(out)
		out = append(out, kv)
	}
	return out
}

// urlencode is Python's urllib.parse.urlencode of a dict of strings.
func (p glanceParams) urlencode() string {
	parts := make([]string, len(p))
	for i, kv := range p {
		parts[i] = url.QueryEscape(kv.key) + "=" + url.QueryEscape(kv.value)
	}
	return strings.Join(parts, "&")
}

// pyStrip is Python's str.strip().
func pyStrip(s string) string { return strings.TrimFunc(s, python.IsSpace) }

// pyInt is Python's int(s) of a str: blanks around, a sign, decimal
// digits (any script's) with single underscores between them. ok is
// false where Python raises ValueError.
func pyInt(s string) (n *big.Int, ok bool) {
	s = pyStrip(s)
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg, s = s[0] == '-', s[1:]
	}
	var digits strings.Builder
	prevDigit := false
	for _, r := range s {
		if r == '_' && prevDigit {
			prevDigit = false
			continue
		}
		d, isDigit := decimalValue(r)
		if !isDigit {
			return nil, false
		}
		digits.WriteByte('0' + d)
		prevDigit = true
	}
	if !prevDigit {
		// Empty, or ending in an underscore.
		return nil, false
	}
	n, _ = new(big.Int).SetString(digits.String(), 10)
	if neg {
		n.Neg(n)
	}
	return n, true
}

// decimalValue is the value of a decimal digit of any script (Unicode
// encodes each script's digits as one run from 0 to 9).
func decimalValue(r rune) (byte, bool) {
	if r >= '0' && r <= '9' {
		return byte(r - '0'), true
	}
	if r < 0x80 || !unicode.IsDigit(r) {
		return 0, false
	}
	start := r
	for unicode.IsDigit(start - 1) {
		start--
	}
	return byte((r - start) % 10), true
}

// clampInt is n as an int64, or as a float64 beyond the int64 range (a
// bound no image reaches).
func clampInt(n *big.Int) any {
	if n.IsInt64() {
		return n.Int64()
	}
	f, _ := new(big.Float).SetInt(n).Float64()
	return f
}

// isoRegexp is iso8601's ISO8601_REGEX without its one lookahead (no
// YYYYMM), which parseISOTime checks itself.
var isoRegexp = regexp.MustCompile(`^(?P<year>[0-9]{4})((-(?P<monthdash>[0-9]{1,2})|(?P<month>[0-9]{2}))((-(?P<daydash>[0-9]{1,2})|(?P<day>[0-9]{2}))((?P<separator>[ T])(?P<hour>[0-9]{2})(:?(?P<minute>[0-9]{2}))?(:?(?P<second>[0-9]{1,2})([.,](?P<second_fraction>[0-9]+))?)?(?P<timezone>Z|((?P<tz_sign>[-+])(?P<tz_hour>[0-9]{2}):?(?P<tz_minute>[0-9]{2})?))?)?)?)?$`)

// parseISOTime is oslo's timeutils.parse_isotime (iso8601.parse_date)
// followed by normalize_time: the instant in UTC. ok is false where they
// raise (Glance answers 400 for ValueError; for a time that leaves the
// years 1 to 9999 once normalized it answers 500, we 400).
func parseISOTime(s string) (time.Time, bool) {
	// Python's $ also matches before a final newline.
	m := isoRegexp.FindStringSubmatch(strings.TrimSuffix(s, "\n"))
	if m == nil {
		return time.Time{}, false
	}
	g := map[string]string{}
	for i, name := range isoRegexp.SubexpNames() {
		if name != "" && m[i] != "" {
			g[name] = m[i]
		}
	}
	if _, month := g["month"]; month {
		if _, day := g["day"]; !day {
			if _, day := g["daydash"]; !day {
				return time.Time{}, false // YYYYMM
			}
		}
	}
	num := func(names ...string) int {
		for _, n := range names {
			if v, ok := g[n]; ok {
				x := 0
				for _, c := range v {
					x = x*10 + int(c-'0')
				}
				return x
			}
		}
		return -1
	}
	or := func(v, def int) int {
		if v < 0 {
			return def
		}
		return v
	}
	year, month, day := num("year"), or(num("month", "monthdash"), 1), or(num("day", "daydash"), 1)
	hour, minute, second := or(num("hour"), 0), or(num("minute"), 0), or(num("second"), 0)
	micro, ok := microseconds(g["second_fraction"])
	if !ok || year < 1 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59 {
		return time.Time{}, false
	}
	if day > time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day() {
		return time.Time{}, false
	}
	offset := 0
	if sign := g["tz_sign"]; sign != "" {
		offset = num("tz_hour")*60 + or(num("tz_minute"), 0)
		if offset >= 24*60 {
			return time.Time{}, false // datetime.timezone's bound
		}
		if sign == "-" {
			offset = -offset
		}
	}
	t := time.Date(year, time.Month(month), day, hour, minute, second, micro*1000, time.UTC).Add(-time.Duration(offset) * time.Minute)
	if t.Year() < 1 || t.Year() > 9999 {
		return time.Time{}, false
	}
	return t, true
}

// microseconds is int(Decimal("0."+frac) * Decimal("1000000.0")) under
// Python's default decimal context: the product rounded (half even) to 28
// significant digits, then truncated; ok is false at 1000000.
func microseconds(frac string) (int, bool) {
	if frac == "" {
		return 0, true
	}
	n, _ := new(big.Int).SetString(frac, 10)
	scale := len(frac) - 6 // the product is n / 10^scale
	if sig := len(n.String()); n.Sign() > 0 && sig > 28 {
		unit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(sig-28)), nil)
		q, r := new(big.Int).QuoRem(n, unit, new(big.Int))
		half := new(big.Int).Rsh(unit, 1) // unit is even: 10^k
		if c := r.Cmp(half); c > 0 || c == 0 && q.Bit(0) == 1 {
			q.Add(q, big.NewInt(1))
		}
		n = q.Mul(q, unit)
	}
	if scale < 0 {
		n.Mul(n, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(-scale)), nil))
	} else {
		n.Quo(n, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil))
	}
	if n.Cmp(big.NewInt(1000000)) >= 0 {
		return 0, false
	}
	return int(n.Int64()), true
}

// splitFilterOp is Glance's split_filter_op: "op:value", or "eq" with
// the whole value when it has no colon or parses as a time.
func splitFilterOp(expr string) (op, value string) {
	left, right, found := strings.Cut(expr, ":")
	if !found {
		return "eq", left
	}
	if _, ok := parseISOTime(expr); ok {
		return "eq", expr
	}
	return left, right
}

// splitQuoted is Glance's split_filter_value_for_quotes: the values of
// an "in:" list, split on commas, with double-quoted values (which may
// hold commas); msg is Glance's 400 for misplaced quotes.
func splitQuoted(value string) (values []string, msg string) {
	open := true
	for i := 0; i < len(value); i++ {
		if value[i] != '"' || i > 0 && value[i-1] == '\\' {
			continue
		}
		if open && i > 0 && value[i-1] != ',' {
			return nil, "Invalid filter value " + value + ". There is no comma before opening quotation mark."
		}
		if !open && i+1 != len(value) && value[i+1] != ',' {
			return nil, "Invalid filter value " + value + ". There is no comma after closing quotation mark."
		}
		open = !open
	}
	if !open {
		return nil, "Invalid filter value " + value + ". The quote is not closed."
	}
	values = []string{}
	for i := 0; i < len(value); {
		if value[i] == '"' {
			if end, ok := quotedEnd(value, i+1); ok {
				values = append(values, value[i+1:end])
				i = end + 1
				if i < len(value) && value[i] == ',' {
					i++
				}
				continue
			}
		}
		if value[i] == ',' {
			values = append(values, "")
			i++
			continue
		}
		end := strings.IndexByte(value[i:], ',')
		if end < 0 {
			values = append(values, value[i:])
			break
		}
		values = append(values, value[i:i+end])
		i += end + 1
	}
	return values, ""
}

// quotedEnd finds the closing quote of `[^"\\]*(?:\\.[^"\\]*)*"` from i
// (a backslash escapes any character but a newline).
func quotedEnd(s string, i int) (int, bool) {
	for i < len(s) {
		switch s[i] {
		case '"':
			return i, true
		case '\\':
			_, size := utf8.DecodeRuneInString(s[i+1:])
			if i+1 >= len(s) || s[i+1] == '\n' {
				return 0, false
			}
			i += 1 + size
		default:
			i++
		}
	}
	return 0, false
}

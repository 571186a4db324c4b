// Package jsonstr quotes text as a JSON string literal that is also valid
// Rego and printable: how generated Rego spells names and rule texts, and
// how lint messages show them.
package jsonstr

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf16"
)

// Quote renders s as a Rego string literal (JSON syntax), escaping what is
// not printable (OPA rejects a byte-order mark even in a comment).
func Quote(s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	q := strings.TrimSuffix(buf.String(), "\n")
	if Printable(q) {
		return q
	}
	var b strings.Builder
	for _, r := range q {
		switch {
		case unicode.IsPrint(r):
			b.WriteRune(r)
		case r > 0xffff:
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(&b, `\u%04x\u%04x`, r1, r2)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

// Printable reports whether every rune of s is printable in Go's sense
// (unicode.IsPrint), so that s can stand in a comment or message as is.
func Printable(s string) bool {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

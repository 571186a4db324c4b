// Ported from CPython 3.11.2 Parser/pegen.c parsenumber (PSF License); see NOTICE.

package python

import (
	"math/big"
	"strconv"
	"strings"
)

// parseNumber converts a NUMBER token like parsenumber() in
// Parser/pegen.c: underscores are dropped, a trailing j makes an
// imaginary number, 0x/0o/0b and all-digit tokens are ints, anything else
// is a float (overflowing to inf, never an error). A decimal int with more
// than 4300 digits hits the int/str conversion limit, which the 3.11
// parser reports as a SyntaxError.
func parseNumber(text string) (value, *pyError) {
	s := strings.ReplaceAll(text, "_", "")
	if last := s[len(s)-1]; last == 'j' || last == 'J' {
		return value{kind: vComplex, im: parseFloat(s[:len(s)-1])}, nil
	}
	if len(s) > 1 && s[0] == '0' {
		base := 0
		switch s[1] {
		case 'x', 'X':
			base = 16
		case 'o', 'O':
			base = 8
		case 'b', 'B':
			base = 2
		}
		if base != 0 {
			return parseInt(s[2:], base)
		}
	}
	if strings.Trim(s, "0123456789") != "" {
		return value{kind: vFloat, f: parseFloat(s)}, nil
	}
	if s[0] != '0' && len(s) > IntMaxStrDigits {
		return value{}, syntaxError("Exceeds the limit (4300 digits) for integer string conversion: value has " +
			strconv.Itoa(len(s)) + " digits; use sys.set_int_max_str_digits() to increase the limit - " +
			"Consider hexadecimal for huge integer literals to avoid decimal conversion limits.")
	}
	return parseInt(s, 10)
}

func parseInt(digits string, base int) (value, *pyError) {
	i, ok := new(big.Int).SetString(digits, base)
	if !ok { // unreachable: the tokenizer only lets valid digits through
		return value{}, syntaxError("invalid number literal")
	}
	return value{kind: vInt, i: i}, nil
}

// parseFloat is PyOS_string_to_double on a tokenizer-validated decimal
// literal: correctly rounded, overflow gives inf.
func parseFloat(s string) float64 {
	f, _ := strconv.ParseFloat(s, 64) // ErrRange still returns ±Inf or 0
	return f
}

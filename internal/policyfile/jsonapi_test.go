package policyfile

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// objectLines are request lines of every shape LoadJSONObject meets.
var objectLines = []string{
	`{}`, ` { } `, `{"rule": "a", "target": {"x": 1}, "creds": {"roles": ["r"]}}`,
	`{"a": 1, "a": 2}`, `{"a": {"b": {"b": 1, "b": [1, 2.5, -0.0, 1e400, NaN, Infinity]}}}`,
	`{"a": "\ud800"}`, `{"a": "\u00e9\n"}`, "{\"a\"\t:\r\n1 }\n",
	// Not one valid object: the checked path reports them.
	"\ufeff{}", `[]`, `"a"`, `{"a": 1} x`, `{"a": 1,}`, `{"a" 1}`, `{a: 1}`, `{"a": 1`, `{"a": tru}`,
	`{"a": [1, 2}`, `{"a": "x`, `{"a": "\q"}`, `{"a": 01}`, ``, ` `, `{"a": 1}{"b": 2}`,
	`{"a": ` + strings.Repeat("[", 989) + strings.Repeat("]", 989) + `}`,
	`{"a": ` + strings.Repeat("[", 990) + strings.Repeat("]", 990) + `}`,
	`{"a": ` + strings.Repeat("[", 991) + strings.Repeat("]", 991) + `}`,
}

// The one-pass reading of a request line gives exactly what the checked
// reading (the whole text validated by json.loads's rules first) gives,
// and is taken for every line the checked reading accepts.
func TestLoadObjectOnceIsChecked(t *testing.T) {
	for _, text := range objectLines {
		checkOnce(t, text)
	}
}

// FuzzLoadObjectOnce is TestLoadObjectOnceIsChecked on any text.
func FuzzLoadObjectOnce(f *testing.F) {
	for _, s := range objectLines {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if !utf8.ValidString(text) {
			return
		}
		checkOnce(t, text)
	})
}

func checkOnce(t *testing.T, text string) {
	t.Helper()
	once, ok := loadObjectOnce(text)
	checked, err := loadJSONObjectChecked(text)
	if ok != (err == nil) {
		t.Fatalf("%q: one pass ok=%t, checked error %v", text, ok, err)
	}
	if ok && !reflect.DeepEqual(once, checked) {
		t.Fatalf("%q: one pass %+v, checked %+v", text, once, checked)
	}
	got, gotErr := LoadJSONObject(text)
	if !reflect.DeepEqual(got, checked) || (gotErr == nil) != (err == nil) || (err != nil && gotErr.Error() != err.Error()) {
		t.Fatalf("%q: LoadJSONObject %+v, %v; checked %+v, %v", text, got, gotErr, checked, err)
	}
}

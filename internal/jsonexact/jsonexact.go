// Package jsonexact decodes JSON into Go values with exact field names.
//
// encoding/json matches object keys to struct fields case-insensitively
// (with Unicode folding: "ROLES", "Roles" and "rolſ"-style keys all fill a
// `json:"roles"` field, the last one winning), and it ignores anything after
// the first value when reading from a Decoder. Go 1.26 offers exact matching
// only in encoding/json/v2, which needs GOEXPERIMENT=jsonv2. This package
// checks the keys of every object that is decoded into a struct against the
// struct's field names before handing the data to encoding/json, so that the
// decode sees only exact names.
package jsonexact

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// Unmarshal decodes data, which must be one JSON value and nothing else but
// white space, into v. Every object key decoded into a struct must equal a
// field's JSON name exactly and appear once; a key that differs from a field
// name only in case is an error, and so, if strict, is any other unknown key.
func Unmarshal(data []byte, v any, strict bool) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("data after the JSON value")
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("jsonexact: decoding into non-pointer %T", v)
	}
	if err := check(raw, rv.Type().Elem(), strict, ""); err != nil {
		return err
	}
	dec = json.NewDecoder(bytes.NewReader(raw))
	if strict {
		dec.DisallowUnknownFields()
	}
	return dec.Decode(v)
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// check walks raw alongside t. Values that do not have the shape t expects
// are left for encoding/json to refuse.
func check(raw json.RawMessage, t reflect.Type, strict bool, at string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	pt := reflect.PointerTo(t)
	if pt.Implements(jsonUnmarshaler) || pt.Implements(textUnmarshaler) {
		return nil // decodes itself (time.Time, ...)
	}
	switch t.Kind() {
	case reflect.Struct:
		fields := fieldTypes(t)
		seen := map[string]bool{}
		return eachMember(raw, func(k string, val json.RawMessage) error {
			ft, ok := fields[k]
			if !ok {
				for name := range fields {
					if strings.EqualFold(name, k) {
						return fmt.Errorf("%sfield %q: names are case-sensitive (want %q)", where(at), k, name)
					}
				}
				if strict {
					return fmt.Errorf("%sunknown field %q", where(at), k)
				}
				return nil
			}
			if seen[k] {
				return fmt.Errorf("%sfield %q given twice", where(at), k)
			}
			seen[k] = true
			return check(val, ft, strict, join(at, k))
		})
	case reflect.Map:
		return eachMember(raw, func(k string, val json.RawMessage) error {
			return check(val, t.Elem(), strict, join(at, k))
		})
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && t.Kind() == reflect.Slice {
			return nil // []byte is a base64 string
		}
		return eachElement(raw, func(i int, val json.RawMessage) error {
			return check(val, t.Elem(), strict, fmt.Sprintf("%s[%d]", at, i))
		})
	}
	return nil
}

// fieldTypes maps the JSON names of t's fields, as encoding/json names
// them, to their types. Embedded structs without a name are flattened.
func fieldTypes(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				for k, v := range fieldTypes(et) {
					if _, ok := out[k]; !ok {
						out[k] = v
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

// eachMember calls fn for the members of an object; anything else is
// skipped.
func eachMember(raw json.RawMessage, fn func(string, json.RawMessage) error) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		k, _ := tok.(string)
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return err
		}
		if err := fn(k, val); err != nil {
			return err
		}
	}
	return nil
}

// eachElement calls fn for the elements of an array; anything else is
// skipped.
func eachElement(raw json.RawMessage, fn func(int, json.RawMessage) error) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil
	}
	for i := 0; dec.More(); i++ {
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return err
		}
		if err := fn(i, val); err != nil {
			return err
		}
	}
	return nil
}

func join(at, k string) string {
	if at == "" {
		return k
	}
	return at + "." + k
}

func where(at string) string {
	if at == "" {
		return ""
	}
	return at + ": "
}

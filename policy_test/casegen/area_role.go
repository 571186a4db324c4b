package casegen

import "fmt"

// roleArea: reference §5.3 (role:NAME).
func roleArea() *area {
	a := newArea("role")
	type rc struct {
		rule   string
		target any
		creds  any
		note   string
	}
	cases := []rc{
		{"role:admin", nil, roles("admin"), "exact match"},
		{"role:admin", nil, roles("member", "admin"), "any element"},
		{"role:admin", nil, roles("member"), "no match"},
		{"role:admin", nil, roles("ADMIN"), "case-insensitive (creds side)"},
		{"role:ADMIN", nil, roles("admin"), "case-insensitive (rule side)"},
		{"role:AdMiN", nil, roles("aDmIn"), "case-insensitive both sides"},
		{"role:admin", nil, roles("admin "), "no trimming"},
		{"role:admin", nil, roles(" admin"), "no trimming"},
		{"role:admin", nil, roles("administrator"), "no prefix match"},
		{"role:adm", nil, roles("admin"), "no substring match"},
		// Unicode lower(), not casefold
		{"role:ΑΣ", nil, roles("ας"), "Python lower: ΑΣ -> ας (final sigma)"},
		{"role:ΑΣ", nil, roles("ασ"), "Python lower: ΑΣ -> ας, not ασ"},
		{"role:ΑΣ", nil, roles("ΑΣ"), "same text both sides"},
		{"role:ας", nil, roles("ΑΣ"), "creds lowered with final sigma too"},
		{"role:ασ", nil, roles("ΑΣ"), "ασ != ας"},
		{"role:ΣΑ", nil, roles("σα"), "sigma not final -> σ"},
		{"role:ΑΣΑ", nil, roles("ασα"), "sigma between letters -> σ"},
		{"role:Σ", nil, roles("σ"), "lone Σ -> σ (no preceding cased letter)"},
		{"role:Σ", nil, roles("ς"), "lone Σ is not ς"},
		{"role:ΑΣ1", nil, roles("ας1"), "final sigma before a digit"},
		{"role:ΑΣ.Β", nil, roles("ας.β"), "sigma before case-ignorable '.' then a letter is not final"},
		{"role:ΑΣ.Β", nil, roles("ασ.β"), "sigma before case-ignorable '.' then a letter -> σ"},
		{"role:ΑΣ.", nil, roles("ας."), "sigma before trailing punctuation is final"},
		{"role:İ", nil, roles("i"), "İ lowers to i + U+0307, not i"},
		{"role:İ", nil, roles("i\u0307"), "İ lowers to i + U+0307"},
		{"role:İ", nil, roles("İ"), "same text"},
		{"role:I", nil, roles("ı"), "dotless ı is not i"},
		{"role:SS", nil, roles("ß"), "lower is not casefold: ss != ß"},
		{"role:ß", nil, roles("SS"), "ß != ss"},
		{"role:ß", nil, roles("ß"), "ß == ß"},
		{"role:ẞ", nil, roles("ß"), "capital sharp s U+1E9E lowers to ß"},
		{"role:\u212a", nil, roles("k"), "KELVIN SIGN lowers to k"},
		{"role:\u01c5", nil, roles("\u01c6"), "titlecase Dž lowers to dž"},
		{"role:Ａ", nil, roles("ａ"), "fullwidth A lowers to fullwidth a"},
		{"role:é", nil, roles("É"), "Latin-1 accents"},
		{"role:e\u0301", nil, roles("é"), "no Unicode normalisation: e+U+0301 != é"},
		{"role:\u13a0", nil, roles("\uab70"), "Cherokee Ꭰ lowers to ꭰ"},
		// format against the target
		{"role:%(r)s", M{"r": "admin"}, roles("admin"), "match formatted with the target"},
		{"role:%(r)s", M{"r": "ADMIN"}, roles("admin"), "formatted match lowered"},
		{"role:%(r)s", M{}, roles("admin"), "missing key -> False"},
		{"not role:%(r)s", M{}, roles("admin"), "not of missing key -> True"},
		{"role:%(r)s", M{"r": N("5")}, roles("5"), "int renders with str()"},
		{"role:%(r)s", M{"r": true}, roles("TRUE"), "True -> 'true' after lower"},
		{"role:%(r)s", M{"r": nil}, roles("None"), "None -> 'none'"},
		{"role:%(r)s", M{"r": L{"admin"}}, roles("admin"), "list renders as repr"},
		{"role:%(r)s", M{"r": L{"admin"}}, roles("['admin']"), "list repr matches"},
		{"role:%(r)d", M{"r": N("7")}, roles("7"), "%d on int"},
		{"role:%(r)d", M{"r": "7"}, roles("7"), "%d on str -> TypeError"},
		{"role:a%%b", nil, roles("a%b"), "%% -> %"},
		{"role:a%", nil, roles("a%"), "lone % -> ValueError"},
		{"role:%(r)s-%(s)s", M{"r": "x", "s": "y"}, roles("x-y"), "two keys"},
		{"role:admin", null, roles("admin"), "formatting runs even without %: null target -> TypeError"},
		{"role:admin", "str", roles("admin"), "string target -> TypeError (not all arguments converted)"},
		{"role:admin", L{}, roles("admin"), "list target without % works"},
		{"role:admin", N("5"), roles("admin"), "number target -> TypeError"},
		{"role:%(r)s", L{"x"}, roles("admin"), "list target with %(r)s -> TypeError"},
		// shape of creds['roles']
		{"role:a", nil, M{"roles": "admin"}, "roles as a string iterates characters"},
		{"role:admin", nil, M{"roles": "admin"}, "roles string: 'admin' is not a character"},
		{"role:A", nil, M{"roles": "admin"}, "roles string, case-insensitive character"},
		{"role:", nil, M{"roles": "admin"}, "empty role vs characters"},
		{"role:", nil, M{"roles": ""}, "empty role vs empty string roles"},
		{"role:admin", nil, M{"roles": M{"admin": N("1")}}, "roles as a dict iterates keys"},
		{"role:admin", nil, M{"roles": M{"member": "admin"}}, "roles dict values are ignored"},
		{"role:admin", nil, M{"roles": M{}}, "empty roles dict"},
		{"role:admin", nil, M{"roles": nil}, "roles None -> TypeError"},
		{"role:admin", nil, M{"roles": N("5")}, "roles int -> TypeError"},
		{"role:admin", nil, M{"roles": true}, "roles bool -> TypeError"},
		{"role:admin", nil, M{"roles": L{N("1")}}, "non-str element -> AttributeError"},
		{"role:admin", nil, M{"roles": L{"admin", N("1")}}, "non-str element after a match still raises (list built first)"},
		{"role:admin", nil, M{"roles": L{nil}}, "None element -> AttributeError"},
		{"role:admin", nil, M{"roles": L{L{"admin"}}}, "nested list element -> AttributeError"},
		{"role:admin", nil, M{"roles": L{true}}, "bool element -> AttributeError"},
		{"role:admin", nil, M{}, "missing roles -> False"},
		{"role:admin", nil, M{"Roles": L{"admin"}}, "key 'Roles' is not 'roles'"},
		{"role:admin", nil, M{"roles": L{}}, "empty roles"},
		{"not role:admin", nil, M{"roles": nil}, "not of a raising role check still raises"},
		{"! and role:admin", nil, M{"roles": nil}, "short-circuit avoids the raising role check"},
		{"role:", nil, roles(""), "empty role name"},
		{"role:", nil, roles("a"), "empty role vs [a]"},
		{"role:admin:x", nil, roles("ADMIN:X"), "colon in role name, case-insensitive"},
		{"role:%(r)s", M{"r": ""}, roles(""), "formatted to empty"},
		{"role:_member_", nil, roles("_Member_"), "keystone _member_ role, case-insensitive"},
	}
	for _, c := range cases {
		a.add(fmt.Sprintf("§5.3 %s: %s", q(c.rule), c.note), one(c.rule, c.target, c.creds))
	}
	return a
}

package python

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/oslorego/oslorego/internal/testenv"
)

// requirePython checks the reference interpreter (testenv.Python): a skip
// outside CI when it is missing, a failure under CI=true.
func requirePython(t testing.TB) {
	t.Helper()
	testenv.Python(t)
}

func mustCharNames(t testing.TB) *charNameDB {
	t.Helper()
	db, err := charNames()
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// Expected values from /usr/bin/python3 (3.11.2):
// codecs.unicode_escape_decode(b"\\N{" + name + b"}").
func TestLookupCharName(t *testing.T) {
	db := mustCharNames(t)
	cases := []struct {
		name string
		want rune // -1: unknown
	}{
		{"BULLET", 0x2022}, {"bullet", 0x2022}, {"bUlLeT", 0x2022},
		{"SPACE", ' '}, {"NULL", 0}, {"NUL", 0}, {"LF", '\n'}, {"line feed", '\n'},
		{"BYTE ORDER MARK", 0xfeff}, {"BOM", 0xfeff}, {"ZWNBSP", 0xfeff},
		{"SCRIPT CAPITAL P", 0x2118}, {"WEIERSTRASS ELLIPTIC FUNCTION", 0x2118},
		{"LATIN CAPITAL LETTER GHA", 0x01a2}, {"LATIN CAPITAL LETTER OI", 0x01a2},
		{"KHITAN SMALL SCRIPT CHARACTER-18B00", 0x18b00}, {"khitan small script character-18b00", 0x18b00},
		{"NUSHU CHARACTER-1B170", 0x1b170}, {"CJK COMPATIBILITY IDEOGRAPH-2FA1D", 0x2fa1d},
		{"CJK UNIFIED IDEOGRAPH-3400", 0x3400}, {"CJK UNIFIED IDEOGRAPH-4DBF", 0x4dbf},
		{"CJK UNIFIED IDEOGRAPH-4DC0", -1}, {"CJK UNIFIED IDEOGRAPH-9FFF", 0x9fff},
		{"CJK UNIFIED IDEOGRAPH-20000", 0x20000}, {"CJK UNIFIED IDEOGRAPH-2EBE0", 0x2ebe0},
		{"CJK UNIFIED IDEOGRAPH-2EBE1", -1}, {"CJK UNIFIED IDEOGRAPH-31350", -1},
		{"CJK UNIFIED IDEOGRAPH-04E00", 0x4e00}, {"CJK UNIFIED IDEOGRAPH-004E00", -1},
		{"CJK UNIFIED IDEOGRAPH-4E0", -1}, {"CJK UNIFIED IDEOGRAPH-4e00", -1}, {"Cjk UNIFIED IDEOGRAPH-4E00", -1},
		{"CJK UNIFIED IDEOGRAPH-", -1}, {"CJK UNIFIED IDEOGRAPH-+4E0", -1},
		{"HANGUL SYLLABLE GA", 0xac00}, {"HANGUL SYLLABLE HIH", 0xd7a3}, {"HANGUL SYLLABLE A", 0xc544},
		{"HANGUL SYLLABLE SSYEOSS", 0xc3b4}, {"HANGUL SYLLABLE GA ", -1}, {"HANGUL SYLLABLE Ga", -1},
		{"HANGUL SYLLABLE ", -1}, {"HANGUL SYLLABLE", -1}, {"Hangul SYLLABLE GA", -1},
		{"LATIN CAPITAL LETTER A WITH MACRON AND GRAVE", -1}, // a named sequence
		{"TANGUT IDEOGRAPH-17000", -1}, {"", -1}, {" ", -1}, {"BULLET ", -1}, {"BULLET\x00", -1},
		{"BULLE", -1}, {"BULLETS", -1}, {"EM_DASH", -1}, {"\u00e9", -1},
	}
	for _, c := range cases {
		r, ok := db.lookup([]byte(c.name))
		if !ok {
			r = -1
		}
		if r != c.want {
			t.Errorf("lookup(%q) = %U (%v), want %U", c.name, r, ok, c.want)
		}
	}
}

// TestCharNamesData checks the embedded table against gen_charnames.py
// run on the reference interpreter. OSLOREGO_UPDATE_CHARNAMES=1 rewrites
// charnames14.gz when they differ.
func TestCharNamesData(t *testing.T) {
	requirePython(t)
	var stderr strings.Builder
	cmd := exec.Command(referencePython, "gen_charnames.py")
	cmd.Stderr = &stderr
	want, err := cmd.Output()
	if err != nil {
		t.Fatalf("gen_charnames.py: %v\n%s", err, stderr.String())
	}
	if got := gunzipT(t, charNamesGz); bytes.Equal(got, want) {
		return
	}
	if os.Getenv("OSLOREGO_UPDATE_CHARNAMES") != "1" {
		t.Fatal("charnames14.gz is stale; run OSLOREGO_UPDATE_CHARNAMES=1 go test -run TestCharNamesData ./internal/python/")
	}
	gz := gzipT(t, want)
	if err := os.WriteFile("charnames14.gz", gz, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("rewrote charnames14.gz (%d bytes); rerun the tests to use it", len(gz))
}

func gunzipT(t *testing.T, gz []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	text, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return text
}

func gzipT(t *testing.T, text []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(text); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestParseCharNamesRejectsDamage(t *testing.T) {
	text := gunzipT(t, charNamesGz)
	gz := func(s string) []byte { return gzipT(t, []byte(s)) }
	if _, err := parseCharNames(gz(string(text))); err != nil {
		t.Fatalf("the embedded table does not parse: %v", err)
	}
	names := strings.Index(string(text), "\nnames\n")
	for _, bad := range []string{
		string(text[:names+1]), // no names
		strings.Replace(string(text), "hangul-l ", "hangul-x ", 1), // a jamo column missing
		string(text[:names]) + "\nnames\n20 5 SPACE\n",             // shares more than the previous name
		string(text[:names]) + "\nnames\nzz 0 SPACE\n",             // bad delta
		string(text[:names]) + "\n1 0 X\n",                         // record outside a section
		string(text) + "0 0 SPACE\n",                               // SPACE twice
	} {
		if _, err := parseCharNames(gz(bad)); err == nil {
			t.Errorf("parseCharNames accepted a damaged table ending %q", bad[max(0, len(bad)-40):])
		}
	}
	if _, err := parseCharNames([]byte("not gzip")); err == nil {
		t.Error("parseCharNames accepted non-gzip data")
	}
}

// charNameSweep asks the interpreter what \N{q} gives for every name and
// alias it knows, for their lower-case and mixed-case spellings and for a
// few near misses of each (named sequences, spacing, computed-name
// variants). The answers come from the unicode_escape codec, the decoder
// str literals use.
const charNameSweep = `
import codecs, ctypes, json, random, sys, unicodedata
assert sys.version_info[:2] == (3, 11), sys.version
get = ctypes.pythonapi.PyCapsule_GetPointer
get.restype = ctypes.c_void_p
get.argtypes = [ctypes.py_object, ctypes.c_char_p]
getname = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_uint32, ctypes.c_char_p, ctypes.c_int, ctypes.c_int)(
    (ctypes.c_void_p * 2).from_address(get(unicodedata._ucnhash_CAPI, b"unicodedata._ucnhash_CAPI"))[0])
buf = ctypes.create_string_buffer(300)
names = [unicodedata.name(chr(c), "") for c in range(0x110000)]
names = [n for n in names if n]
extra = [buf.value.decode() for pua in range(0xF0000, 0xF0400) if getname(pua, buf, 300, 1)]
rnd = random.Random(9)
def mixed(n):
    return "".join(ch.lower() if rnd.random() < 0.5 else ch for ch in n)
def near(n):
    i = rnd.randrange(len(n) + 1)
    return rnd.choice([n[:i] + " " + n[i:], n[:i] + n[i + 1:], n[:i] + rnd.choice("AZ09-") + n[i:], n + " ", " " + n])
queries = []
for n in names + extra:
    queries += [n, n.lower(), mixed(n), near(n)]
for c in list(range(0x3300, 0x3500)) + list(range(0x4D00, 0x4F00)) + list(range(0x9F00, 0xA100)) + list(range(0x2A600, 0x2A800)) + \
        list(range(0x2B700, 0x2B900)) + list(range(0x2CE00, 0x2CF00)) + list(range(0x2EB00, 0x2EC00)) + list(range(0x30000, 0x31400)):
    queries += ["CJK UNIFIED IDEOGRAPH-%04X" % c, "CJK UNIFIED IDEOGRAPH-%04x" % c, "CJK UNIFIED IDEOGRAPH-%05X" % c,
                "CJK UNIFIED IDEOGRAPH-%06X" % c, "cjk unified ideograph-%04X" % c]
for n in ["TANGUT IDEOGRAPH-17000", "TANGUT IDEOGRAPH-18AFF", "KHITAN SMALL SCRIPT CHARACTER-18CD6", "NUSHU CHARACTER-1B2FC",
          "HANGUL SYLLABLE", "HANGUL SYLLABLE ", "HANGUL SYLLABLE  GA", "HANGUL SYLLABLE GGGA", "HANGUL SYLLABLE GAGGG"]:
    queries.append(n)
def ucn(q):
    try:
        s = codecs.unicode_escape_decode(b"\\N{" + q.encode("ascii") + b"}")[0]
    except UnicodeDecodeError:
        return -1
    assert len(s) == 1
    return ord(s)
queries = [q for q in queries if q and "}" not in q]
json.dump([[q, ucn(q)] for q in queries], sys.stdout)
`

// TestCharNamesAgainstPython sweeps every character name and alias of the
// reference interpreter (plus case variants and near misses of each)
// through the lookup, and a sample of them through LiteralEval.
func TestCharNamesAgainstPython(t *testing.T) {
	testenv.Long(t)
	requirePython(t)
	var stderr strings.Builder
	cmd := exec.Command(referencePython, "-c", charNameSweep)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, stderr.String())
	}
	var raw [][2]json.RawMessage
	if err := json.Unmarshal(out, &raw); err != nil {
		t.Fatal(err)
	}
	type answer struct {
		name string
		code rune // -1: unknown name
	}
	answers := make([]answer, 0, len(raw))
	for _, r := range raw {
		var a answer
		if json.Unmarshal(r[0], &a.name) != nil || json.Unmarshal(r[1], &a.code) != nil {
			t.Fatalf("bad answer %s %s", r[0], r[1])
		}
		answers = append(answers, a)
	}
	db := mustCharNames(t)
	bad, found := 0, 0
	for i, a := range answers {
		got, ok := db.lookup([]byte(a.name))
		if !ok {
			got = -1
		} else {
			found++
		}
		if got != a.code {
			if bad++; bad <= 30 {
				t.Errorf("lookup(%q) = %U, python %U", a.name, got, a.code)
			}
		}
		// Every 97th query goes through the whole literal parser as well.
		if i%97 == 0 {
			res := LiteralEval("'\\N{" + a.name + "}'")
			want := LiteralResult{Class: SyntaxError, Err: "SyntaxError: (unicode error) 'unicodeescape' codec can't decode bytes: unknown Unicode character name"}
			if a.code >= 0 {
				want = LiteralResult{Class: Literal, Str: string(a.code)}
			}
			if res != want {
				if bad++; bad <= 30 {
					t.Errorf("LiteralEval(\\N{%s}) = %+v, want %+v", a.name, res, want)
				}
			}
		}
	}
	names, err := CharNames()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if r, ok := db.lookup([]byte(n.Name)); !ok || r != n.Rune {
			t.Errorf("CharNames lists %q as %U, lookup gives %U %v", n.Name, n.Rune, r, ok)
		}
	}
	if found < 150000 || len(answers) < 500000 {
		t.Errorf("the sweep is too small: %d queries, %d names found", len(answers), found)
	}
	t.Logf("%d queries (%d names) compared with %s", len(answers), found, referencePython)
	if bad > 0 {
		t.Errorf("%d mismatches against %s", bad, referencePython)
	}
}

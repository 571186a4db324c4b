package auth_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oslorego/oslorego/auth"
	"github.com/oslorego/oslorego/policy_test/oracle"
	"github.com/oslorego/oslorego/rego"
	"github.com/oslorego/oslorego/server"
	"github.com/oslorego/oslorego/translate"
	"github.com/oslorego/oslorego/translate/oslo"
)

// mode is one auth mode, able to authenticate a caller holding roles.
type mode struct {
	name string
	// identify returns the identity the mode gives a caller whose identity
	// source (tokens file, Keystone, keystonemiddleware) holds roles.
	identify func(t *testing.T, roles []string) (*auth.Identity, error)
}

// modes returns the three auth modes, each backed by a fake identity
// source that hands out whatever roles a test asks for.
func modes(t *testing.T) []mode {
	t.Helper()
	// Token file: one token per call.
	path := filepath.Join(t.TempDir(), "tokens.json")
	tf := auth.NewTokenFile(path)
	byToken := func(a auth.Authenticator, tok string) (*auth.Identity, error) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("X-Auth-Token", tok)
		return a.Authenticate(context.Background(), r)
	}

	// Keystone: the fake answers with the role names registered for a token.
	var mu sync.Mutex
	ksRoles := map[string][]string{}
	ks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		roles, ok := ksRoles[r.Header.Get("X-Subject-Token")]
		mu.Unlock()
		if !ok {
			http.Error(w, `{"error": {"code": 404}}`, http.StatusNotFound)
			return
		}
		type role struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		}
		body := map[string]any{"token": map[string]any{
			"expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano),
			"user":       map[string]any{"id": "u", "domain": map[string]any{"id": "default"}},
			"project":    map[string]any{"id": "p", "domain": map[string]any{"id": "default"}},
			"roles": func() []role {
				out := []role{}
				for i, n := range roles {
					out = append(out, role{ID: fmt.Sprint(i), Name: n})
				}
				return out
			}(),
		}}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(body)
	}))
	t.Cleanup(ks.Close)
	k, err := auth.NewKeystone(auth.KeystoneOptions{URL: ks.URL, ServiceToken: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	n := 0

	h := auth.NewHeaders([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")})
	return []mode{
		{"token", func(t *testing.T, roles []string) (*auth.Identity, error) {
			tok, err := auth.AddToken(path, auth.NewToken{UserID: "u", ProjectID: "p", Roles: roles})
			if err != nil {
				t.Fatal(err)
			}
			return byToken(tf, tok)
		}},
		{"keystone", func(t *testing.T, roles []string) (*auth.Identity, error) {
			mu.Lock()
			n++
			tok := fmt.Sprintf("gAAAAA-%d", n)
			ksRoles[tok] = roles
			mu.Unlock()
			return byToken(k, tok)
		}},
		{"headers", func(t *testing.T, roles []string) (*auth.Identity, error) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = "127.0.0.1:1234"
			r.Header.Set("X-Identity-Status", "Confirmed")
			r.Header.Set("X-User-Id", "u")
			r.Header.Set("X-Project-Id", "p")
			// keystonemiddleware joins the role names with commas.
			r.Header.Set("X-Roles", strings.Join(roles, ","))
			return h.Authenticate(context.Background(), r)
		}},
	}
}

// Every mode hands the roles to the engine as the identity source gave
// them, trimmed (as oslo.context's str.strip) only: lowering is the Rego
// library's job, done as Python's str.lower.
func TestRolesPassThroughEveryMode(t *testing.T) {
	tests := []struct {
		name  string
		roles []string
		want  []string
	}{
		{"dotted capital I", []string{"İ"}, []string{"İ"}},
		{"capital sigma, final", []string{"ΑΣ"}, []string{"ΑΣ"}},
		{"sharp s and capital sharp s", []string{"ß", "ẞ"}, []string{"ß", "ẞ"}},
		{"Kelvin sign", []string{"K"}, []string{"K"}},
		{"titlecase digraph", []string{"ǅ"}, []string{"ǅ"}},
		{"ASCII upper case kept", []string{"Admin", "MEMBER"}, []string{"Admin", "MEMBER"}},
		{"case variants are distinct roles", []string{"admin", "Admin"}, []string{"admin", "Admin"}},
		{"trimmed", []string{" reader\t"}, []string{"reader"}},
		{"trimmed of Unicode spaces", []string{"\u3000member\u2003"}, []string{"member"}},
		// Python's str.strip also strips U+001C..U+001F; Go's TrimSpace
		// does not.
		{"trimmed of information separators", []string{"\x1fadmin\x1c"}, []string{"admin"}},
		{"empty and duplicates dropped", []string{"reader", "", " ", "reader"}, []string{"reader"}},
	}
	for _, m := range modes(t) {
		for _, tc := range tests {
			t.Run(m.name+"/"+tc.name, func(t *testing.T) {
				id, err := m.identify(t, tc.roles)
				if err != nil {
					t.Fatalf("authenticate: %v", err)
				}
				if !reflect.DeepEqual(id.Roles, tc.want) {
					t.Fatalf("roles %q, want %q", id.Roles, tc.want)
				}
				creds := server.Credentials(id)
				got := fmt.Sprint(creds["roles"])
				if want := fmt.Sprint(anySlice(tc.want)); got != want {
					t.Fatalf("credentials roles %s, want %s", got, want)
				}
			})
		}
	}
}

func anySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// The conformance corpus's role cases (oslo.policy's answers), decided with
// roles that came through each auth mode and the server's credentials:
// the decision is oslo's. Before roles were passed through, a role "İ"
// was lowered by Go to "i" and passed role:i, and "ΑΣ" failed role:ΑΣ.
func TestCorpusRolesThroughEveryMode(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "policy_test", "testdata", "corpus", "role.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	cases, err := oracle.ReadJSONL(data)
	if err != nil {
		t.Fatal(err)
	}
	// oslo.policy 4.0.0: RoleCheck("role", "i") on roles ["İ"] is False
	// ("İ".lower() is "i̇"), the example of issue 8.
	cases = append(cases, oracle.Case{
		ID: "auth-dotted-I", Rules: oracle.MustRules("r", "role:i"), Rule: "r",
		Target: map[string]any{}, Creds: map[string]any{"roles": []any{"İ"}},
		Expect: &oracle.Result{Allowed: false},
	})
	ms := modes(t)
	ran, unicode := 0, 0
	for _, c := range cases {
		roles, ok := cleanRoles(c)
		if !ok || c.Expect == nil || c.Expect.Error != "" || c.Mode != "" {
			continue
		}
		ran++
		if !isASCII(fmt.Sprint(roles)) || !isASCII(string(oracle.MustJSON(c.Rules))) {
			unicode++
		}
		e := caseEngine(t, c)
		for _, m := range ms {
			t.Run(c.ID+"/"+m.name, func(t *testing.T) {
				id, err := m.identify(t, roles)
				if err != nil {
					t.Fatalf("authenticate: %v", err)
				}
				if !reflect.DeepEqual(id.Roles, roles) {
					t.Errorf("roles %q reached the engine as %q", roles, id.Roles)
				}
				d, err := e.Decide(context.Background(), rego.Request{Rule: c.Rule, Target: c.Target, Credentials: server.Credentials(id)})
				if err != nil {
					t.Fatal(err)
				}
				if d.Allowed != c.Expect.Allowed {
					t.Fatalf("roles %q, rules %s: allowed %v, oslo.policy says %v (%s)", roles, oracle.MustJSON(c.Rules), d.Allowed, c.Expect.Allowed, c.Note)
				}
			})
		}
	}
	if unicode < 25 {
		t.Fatalf("only %d non-ASCII role cases (of %d) ran; the corpus changed?", unicode, ran)
	}
}

// cleanRoles returns a case's roles if they are plain: non-empty, distinct
// strings without surrounding space or commas, which every mode can carry
// unchanged.
func cleanRoles(c oracle.Case) ([]string, bool) {
	creds, ok := c.Creds.(map[string]any)
	if !ok || len(creds) != 1 {
		return nil, false
	}
	list, ok := creds["roles"].([]any)
	if !ok {
		return nil, false
	}
	seen := map[string]bool{}
	out := []string{}
	for _, v := range list {
		s, ok := v.(string)
		if !ok || s == "" || strings.TrimSpace(s) != s || strings.Contains(s, ",") || seen[s] {
			return nil, false
		}
		seen[s] = true
		out = append(out, s)
	}
	return out, true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// caseEngine compiles a corpus case's rules.
func caseEngine(t *testing.T, c oracle.Case) *rego.Engine {
	t.Helper()
	l, err := oslo.ParseLayer("policy.json", oracle.MustJSON(c.Rules))
	if err != nil {
		t.Fatalf("%s: %v", c.ID, err)
	}
	p, err := oslo.Build([]*oslo.Layer{l}, nil, oslo.Options{})
	if err != nil {
		t.Fatalf("%s: %v", c.ID, err)
	}
	tr, err := translate.Translate(p, "")
	if err != nil {
		t.Fatalf("%s: %v", c.ID, err)
	}
	e, err := rego.New(context.Background(), rego.Translation(tr))
	if err != nil {
		t.Fatalf("%s: %v", c.ID, err)
	}
	return e
}

func TestImpliedRoles(t *testing.T) {
	tests := []struct {
		in, want []string
	}{
		{nil, []string{}},
		{[]string{"reader"}, []string{"reader"}},
		{[]string{"member"}, []string{"member", "reader"}},
		{[]string{"admin"}, []string{"admin", "member", "reader"}},
		// What was given first, in order, then what it implies.
		{[]string{"observer", "admin"}, []string{"observer", "admin", "member", "reader"}},
		{[]string{"reader", "admin"}, []string{"reader", "admin", "member"}},
		{[]string{"member", "admin"}, []string{"member", "admin", "reader"}},
		// Keystone role names ignore ASCII case; the given spelling stays.
		{[]string{" Admin "}, []string{"Admin", "member", "reader"}},
		{[]string{"ADMIN", "Member"}, []string{"ADMIN", "Member", "reader"}},
		// Only ASCII case is ignored: "ADMİN" lowers to "admi̇n" in Python.
		{[]string{"ADMİN"}, []string{"ADMİN"}},
		{[]string{"ｍember"}, []string{"ｍember"}},
	}
	for _, tc := range tests {
		if got := auth.ImpliedRoles(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ImpliedRoles(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

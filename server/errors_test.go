package server_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/oslorego/oslorego/auth"
	"github.com/oslorego/oslorego/imagestore"
)

// unavailableAuth is an identity service that cannot be reached.
type unavailableAuth struct{}

func (unavailableAuth) Authenticate(context.Context, *http.Request) (*auth.Identity, error) {
	return nil, fmt.Errorf("keystone: %w", auth.ErrUnavailable)
}

// Every error body's message starts with the status line, "403 Forbidden: "
// as Glance's pages do. glanceclient shows only the message of a JSON
// error ("HTTP <message>"), so without it `glance` printed a refusal with
// no status at all (policy_test's TestClients* run the real clients).
func TestErrorMessagesNameTheirStatus(t *testing.T) {
	h := newHarness(t, glancePolicy(t), nil)
	member := tok(h.token(p1, "member", "reader"))
	plain := h.image(digits, imagestore.ImportOptions{Owner: sp(p1), Visibility: imagestore.Private})
	restricted := h.image(digits, imagestore.ImportOptions{Owner: sp(p1), Visibility: imagestore.Private, Properties: map[string]string{"x_billing_code_ntt": "ntt_3251"}})
	deact := h.image(digits, imagestore.ImportOptions{Owner: sp(p1), Visibility: imagestore.Private})
	if err := h.store.SetStatus(context.Background(), deact.ID, imagestore.StatusDeactivated); err != nil {
		t.Fatal(err)
	}
	down := newHarness(t, glancePolicy(t), func(string) auth.Authenticator { return unavailableAuth{} })
	cases := []struct {
		name, method, path string
		hdr                map[string]string
		h                  *harness
		status             int
		detail             string
	}{
		{"policy refusal", "GET", "/v2/images/" + restricted.ID + "/file", member, h, 403, "Policy does not allow this request."},
		{"policy refusal v1", "GET", "/v1/images/" + restricted.ID, member, h, 403, "Policy does not allow this request."},
		{"deactivated", "GET", "/v2/images/" + deact.ID + "/file", member, h, 403, "The requested image has been deactivated. Image data download is forbidden."},
		{"no such image", "GET", "/v2/images/00000000-0000-0000-0000-000000000000", member, h, 404, "No image found with ID 00000000-0000-0000-0000-000000000000"},
		{"no such path", "GET", "/v2/nope", member, h, 404, "The resource could not be found."},
		{"bad token", "GET", "/v2/images/" + plain.ID, tok("osr_nope"), h, 401, "This server could not verify that you are authorized to access the document you requested."},
		{"bad range", "GET", "/v2/images/" + plain.ID + "/file", with(member, "Range", "bytes=20-"), h, 416, ""},
		{"method", "DELETE", "/v2/images/" + plain.ID + "/file", member, h, 405, "The method DELETE is not allowed for this resource."},
		{"keystone down", "GET", "/v2/images/" + plain.ID, member, down, 503, "The identity service is unavailable."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := c.h.do(c.method, c.path, c.hdr)
			if r.Status != c.status {
				t.Fatalf("status %d, want %d: %s", r.Status, c.status, r.Body)
			}
			e, _ := r.json(t)["error"].(map[string]any)
			msg, _ := e["message"].(string)
			line := fmt.Sprintf("%d %s: ", c.status, http.StatusText(c.status))
			if e["code"] != float64(c.status) || e["title"] != http.StatusText(c.status) || !strings.HasPrefix(msg, line) || len(msg) == len(line) {
				t.Errorf("body %s: want code %d, title %q and a message that starts with %q", r.Body, c.status, http.StatusText(c.status), line)
			}
			if c.detail != "" && msg != line+c.detail {
				t.Errorf("message %q, want %q", msg, line+c.detail)
			}
		})
	}
}

package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestGatewayRoutesAgainstGlance: --routes all in front of a real Glance
// and Keystone. An image is created, changed, tagged, shared, filled and
// deleted through the gateway; each class of route has a refusal that
// never reaches Glance; locations stay hidden and cannot be set.
func TestGatewayRoutesAgainstGlance(t *testing.T) {
	p := startPeers(t)
	admin := p.token("admin", "admin")
	member, reader, demoAdmin := p.token("alice", "demo"), p.token("rita", "demo"), p.token("demo-admin", "demo")
	none := p.noRoleUser(admin)
	gw, decisions := p.gatewayWith(t, admin, prometheus.NewRegistry(), true)
	do := func(method, path, token, ctype, body string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, gw.URL+path, strings.NewReader(body))
		req.Header.Set("X-Auth-Token", token)
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := gw.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	refused := func(what, method, path, token, ctype, body string) {
		t.Helper()
		status, out := do(method, path, token, ctype, body)
		if status != 403 || strings.TrimSpace(string(out)) != forbidden {
			t.Errorf("%s: %d %s, want our 403", what, status, out)
		}
	}
	const patchType = "application/openstack-images-v2.1-json-patch"

	// Images: create (add_image).
	refused("create with no role", "POST", "/v2/images", none, "application/json", `{"name": "gw-none"}`)
	status, out := do("POST", "/v2/images", member, "application/json", `{"name": "gw-routes", "disk_format": "raw", "container_format": "bare"}`)
	var img map[string]any
	if status != 201 || json.Unmarshal(out, &img) != nil || img["id"] == nil {
		t.Fatalf("create: %d %s", status, out)
	}
	id := img["id"].(string)
	path := "/v2/images/" + id

	// Update (modify_image), and locations.
	refused("patch as reader", "PATCH", path, reader, patchType, `[{"op": "replace", "path": "/name", "value": "r"}]`)
	if status, out := do("PATCH", path, member, patchType, `[{"op": "add", "path": "/os_distro", "value": "cirros"}]`); status != 200 || !bytes.Contains(out, []byte(`"cirros"`)) {
		t.Errorf("patch: %d %s", status, out)
	}
	if status, out := do("PATCH", path, demoAdmin, patchType, `[{"op": "add", "path": "/locations/-", "value": {"url": "file:///etc/passwd", "metadata": {}}}]`); status != 403 {
		t.Errorf("patch adding a location: %d %s", status, out)
	}

	// Tags (modify_image).
	refused("tag as reader", "PUT", path+"/tags/blue", reader, "", "")
	if status, out := do("PUT", path+"/tags/blue", member, "", ""); status != 204 {
		t.Errorf("tag: %d %s", status, out)
	}

	// Data (upload_image), then downloaded through the gateway.
	data := bytes.Repeat([]byte("routes!"), 150000)
	refused("upload as reader", "PUT", path+"/file", reader, "application/octet-stream", string(data))
	if status, out := do("PUT", path+"/file", member, "application/octet-stream", string(data)); status != 204 {
		t.Fatalf("upload: %d %s", status, out)
	}
	if status, out := do("GET", path+"/file", member, "", ""); status != 200 || !bytes.Equal(out, data) {
		t.Errorf("download after upload: %d, %d bytes", status, len(out))
	}
	status, out = do("GET", path, demoAdmin, "", "")
	if status != 200 || bytes.Contains(out, []byte("locations")) || bytes.Contains(out, []byte("direct_url")) || !bytes.Contains(out, []byte(`"blue"`)) {
		t.Errorf("show: %d %s", status, out)
	}
	status, out = do("GET", "/v2/images?limit=100", demoAdmin, "", "")
	if status != 200 || !bytes.Contains(out, []byte(id)) || bytes.Contains(out, []byte(`"locations"`)) {
		t.Errorf("listing: %d %s", status, out)
	}

	// Members (add_member, get_members).
	if status, out := do("PATCH", path, member, patchType, `[{"op": "replace", "path": "/visibility", "value": "shared"}]`); status != 200 {
		t.Fatalf("share: %d %s", status, out)
	}
	other := p.env["PROJECT_OTHER"]
	refused("add member as reader", "POST", path+"/members", reader, "application/json", `{"member": "`+other+`"}`)
	if status, out := do("POST", path+"/members", member, "application/json", `{"member": "`+other+`"}`); status != 200 {
		t.Errorf("add member: %d %s", status, out)
	}
	if status, out := do("GET", path+"/members", reader, "", ""); status != 200 || !bytes.Contains(out, []byte(other)) {
		t.Errorf("members: %d %s", status, out)
	}

	// Tasks and metadefs: no image in the target.
	refused("tasks as member", "GET", "/v2/tasks", member, "", "")
	if status, out := do("GET", "/v2/tasks", admin, "", ""); status != 200 {
		t.Errorf("tasks as admin: %d %s", status, out)
	}
	refused("metadef namespace create as member", "POST", "/v2/metadefs/namespaces", member, "application/json", `{"namespace": "gw-test"}`)
	if status, out := do("GET", "/v2/metadefs/namespaces", reader, "", ""); status != 200 {
		t.Errorf("metadef namespaces: %d %s", status, out)
	}

	// Discovery and schemas: proxied, links moved to the gateway.
	if status, out := do("GET", "/versions", "", "", ""); status != 200 || !bytes.Contains(out, []byte(gw.URL+"/v2/")) || bytes.Contains(out, []byte(p.glance)) {
		t.Errorf("versions: %d %s", status, out)
	}
	if status, out := do("GET", "/v2/schemas/image", reader, "", ""); status != 200 || !bytes.Contains(out, []byte(`"name": "image"`)) && !bytes.Contains(out, []byte(`"name":"image"`)) {
		t.Errorf("schema: %d %.200s", status, out)
	}

	// Delete (delete_image).
	refused("delete as reader", "DELETE", path, reader, "", "")
	if status, out := do("DELETE", path, member, "", ""); status != 204 {
		t.Errorf("delete: %d %s", status, out)
	}
	if status, _ := do("GET", path, member, "", ""); status != 404 {
		t.Errorf("deleted image: %d", status)
	}
	if !strings.Contains(decisions.String(), `"action":"upload_image"`) {
		t.Errorf("no upload_image decision logged")
	}
}

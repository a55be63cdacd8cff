package officialserver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/resolute-run/resolute/examples/greeter"
	"github.com/resolute-run/resolute/runtime/discovery/discoverytest"
	"github.com/resolute-run/resolute/runtime/server"
	"github.com/resolute-run/resolute/tests/testenv"
)

// adminStep is one request of the admin script. pick, when set, lists the JSON fields of a
// 200 answer to compare (the rest differs by configuration: default retry policies, times);
// otherwise the whole answer is compared.
type adminStep struct {
	method, path, ct, body string
	ingress                bool
	pick                   []string
}

var (
	dpID       = regexp.MustCompile(`dp_[0-9A-Za-z]{20,}`)
	jiffSuffix = regexp.MustCompile(` at line \d+ column \d+$`)
)

// TestAdminAPIMatchesOfficial runs one script of admin requests (PATCH /services, PATCH and
// DELETE /deployments, the service OpenAPI's 404, wrong routes) against restate-server 1.7.12
// and ours, with the greeter deployment on both, and compares the answers: status, content
// type and body (ids and endpoint addresses normalised). Known differences are left out of the
// script and listed in runtime/server/adminapi_test.go: JSON bodies of 404/405 fallbacks (empty
// there), serde's wording of type errors, Lambda ARNs, stricter address updates.
func TestAdminAPIMatchesOfficial(t *testing.T) {
	bin := testenv.OfficialServerPath(t)

	serve := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go greeter.Endpoint().Serve(ln)
		t.Cleanup(func() { ln.Close() })
		return "http://" + ln.Addr().String() + "/"
	}
	first, second := serve(), serve()
	older := discoverytest.NewServer(greeterManifestV6(t, first), "")
	t.Cleanup(older.Close)
	names := strings.NewReplacer(first, "<first>", second, "<second>", older.URL, "<older>")

	ingress, admin := startOfficialAdmin(t, bin)
	want := runAdminScript(t, ingress, admin, first, second, older.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := server.Start(ctx, server.Config{DataDir: t.TempDir(), IngressAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", Partitions: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	got := runAdminScript(t, s.IngressURL(), s.AdminURL(), first, second, older.URL)
	for i := range want {
		if w, g := names.Replace(want[i]), names.Replace(got[i]); w != g {
			t.Errorf("ours:\n%s\nrestate-server:\n%s", g, w)
		}
	}
	t.Logf("%d answers alike", len(want))
}

// greeterManifestV6 is the greeter's manifest with protocol versions 5..6 (instead of 5..7).
func greeterManifestV6(t *testing.T, uri string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", uri+"discover", nil)
	req.Header.Set("Accept", "application/vnd.restate.endpointmanifest.v4+json")
	resp, err := discoverytest.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), `"maxProtocolVersion":7`) {
		t.Fatalf("greeter manifest: %s", b)
	}
	return strings.Replace(string(b), `"maxProtocolVersion":7`, `"maxProtocolVersion":6`, 1)
}

func runAdminScript(t *testing.T, ingress, admin, first, second, older string) []string {
	t.Helper()
	if _, err := testenv.Register(admin, first); err != nil {
		t.Fatal(err)
	}
	id := deploymentID(t, admin)
	testenv.WaitReady(t, "services routable", 30*time.Second, func() error {
		r, err := testenv.Invoke(ingress, "/Greeter/probe/count", "")
		if err != nil || r.Status != 200 {
			return fmt.Errorf("probe: %v %v", r, err)
		}
		return nil
	})
	const j = "application/json"
	const unknown = "dp_11111111111111111111111"
	settings := []string{"public", "idempotency_retention", "journal_retention", "inactivity_timeout", "abort_timeout", "handlers.public"}
	script := []adminStep{
		{method: "PATCH", path: "/services/Nope", ct: j, body: `{"public":false}`},
		{method: "PATCH", path: "/services/Greeter", ct: "text/plain", body: `{"public":false}`},
		{method: "PATCH", path: "/services/Greeter", ct: j},
		{method: "PATCH", path: "/services/Greeter", ct: j, body: `{"idempotency_retention":"soon"}`},
		{method: "PATCH", path: "/services/Greeter", ct: j, body: `{"workflow_completion_retention":"1h"}`},
		{method: "PATCH", path: "/services/Greeter", ct: j, body: `{"public":false,"journal_retention":"2h","inactivity_timeout":"PT5M","abort_timeout":"90 seconds","idempotency_retention":"3 days"}`, pick: settings},
		{method: "GET", path: "/services/Greeter", pick: settings},
		{method: "POST", path: "/Greeter/bob/greet", ct: j, body: `"Hi"`, ingress: true},
		{method: "POST", path: "/Greeter/bob/greet/send", ct: j, body: `"Hi"`, ingress: true},
		{method: "POST", path: "/Welcome/welcome", ct: j, body: `"bob"`, ingress: true},
		{method: "PATCH", path: "/services/Greeter", ct: j, body: `{"public":true}`, pick: settings},
		{method: "POST", path: "/Greeter/bob/greet", ct: j, body: `"Hi"`, ingress: true},
		{method: "GET", path: "/services/Nope/openapi"},
		{method: "DELETE", path: "/deployments/" + id},
		{method: "DELETE", path: "/deployments/" + id + "?force=false"},
		{method: "DELETE", path: "/deployments/" + unknown},
		{method: "DELETE", path: "/deployments/" + id + "?force=yes"},
		{method: "DELETE", path: "/deployments/bogus?force=true"},
		{method: "DELETE", path: "/deployments/" + unknown + "?force=true"},
		{method: "PATCH", path: "/deployments/" + unknown, ct: j, body: `{"additional_headers":{"x-a":"b"}}`},
		{method: "PATCH", path: "/deployments/bogus", ct: j, body: `{}`},
		{method: "PATCH", path: "/deployments/" + id, ct: "text/plain", body: `{}`},
		{method: "PATCH", path: "/deployments/" + id, ct: j},
		{method: "PATCH", path: "/deployments/" + id, ct: j, body: `{"uri":"` + older + `"}`},
		{method: "PATCH", path: "/deployments/" + id, ct: j, body: `{"additional_headers":{"x-a":"b"}}`, pick: []string{"id", "uri", "additional_headers"}},
		{method: "PATCH", path: "/deployments/" + id, ct: j, body: `{"uri":"` + second + `"}`, pick: []string{"id", "uri", "additional_headers"}},
		{method: "GET", path: "/deployments/" + id, pick: []string{"id", "uri", "additional_headers"}},
		{method: "POST", path: "/Greeter/bob/greet", ct: j, body: `"Hi"`, ingress: true},
		{method: "DELETE", path: "/deployments/" + id + "?force=true"},
		{method: "GET", path: "/services/Greeter"},
		{method: "DELETE", path: "/deployments/" + id + "?force=true"},
	}
	out := make([]string, 0, len(script))
	for _, st := range script {
		base := admin
		if st.ingress {
			base = ingress
		}
		out = append(out, adminAnswer(t, base, st))
	}
	for _, p := range []struct{ method, path string }{{"GET", "/nope"}, {"DELETE", "/services"}, {"PUT", "/services/Greeter"}} {
		r := doAdmin(t, p.method, admin+p.path, "", "")
		out = append(out, fmt.Sprintf("%s %s → %d allow=%q", p.method, p.path, r.StatusCode, r.Header.Get("Allow")))
	}
	return out
}

// deploymentID is the id of the one registered deployment.
func deploymentID(t *testing.T, admin string) string {
	t.Helper()
	r := doAdmin(t, "GET", admin+"/deployments", "", "")
	var v struct {
		Deployments []struct {
			ID string `json:"id"`
		} `json:"deployments"`
	}
	if err := json.Unmarshal([]byte(r.body), &v); err != nil || len(v.Deployments) != 1 {
		t.Fatalf("deployments: %v %s", err, r.body)
	}
	return v.Deployments[0].ID
}

type adminResp struct {
	*http.Response
	body string
}

func doAdmin(t *testing.T, method, url, ct, body string) adminResp {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return adminResp{resp, string(b)}
}

// adminAnswer is one step's answer in a comparable form.
func adminAnswer(t *testing.T, base string, st adminStep) string {
	t.Helper()
	r := doAdmin(t, st.method, base+st.path, st.ct, st.body)
	ct := r.Header.Get("Content-Type")
	body := r.body
	// restate-server writes some refusals as text/plain, ours all in its JSON error shape
	// (tests/officialserver/adminerrors_test.go): compared by their message.
	var e struct {
		Message *string `json:"message"`
	}
	if strings.HasPrefix(ct, "text/plain") {
		ct, body = "error", r.body
	} else if r.StatusCode >= 400 && json.Unmarshal([]byte(r.body), &e) == nil && e.Message != nil {
		ct, body = "error", *e.Message
	}
	body = jiffSuffix.ReplaceAllString(dpID.ReplaceAllString(body, "dp_X"), "")
	if st.pick != nil && r.StatusCode == 200 {
		body = pickFields(t, r.body, st.pick)
	}
	return fmt.Sprintf("%s %s → %d %s %s", st.method, dpID.ReplaceAllString(st.path, "dp_X"), r.StatusCode, ct, body)
}

// pickFields renders the named fields of a JSON object ("handlers.public": that field of each
// handler, sorted by handler name).
func pickFields(t *testing.T, body string, fields []string) string {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	var parts []string
	for _, f := range fields {
		if outer, inner, ok := strings.Cut(f, "."); ok {
			hs, _ := v[outer].([]any)
			byName := map[string]any{}
			var names []string
			for _, h := range hs {
				h := h.(map[string]any)
				byName[h["name"].(string)] = h[inner]
				names = append(names, h["name"].(string))
			}
			slices.Sort(names)
			for _, n := range names {
				parts = append(parts, fmt.Sprintf("%s.%s.%s=%v", outer, n, inner, byName[n]))
			}
			continue
		}
		parts = append(parts, fmt.Sprintf("%s=%v", f, dpID.ReplaceAllString(fmt.Sprint(v[f]), "dp_X")))
	}
	return strings.Join(parts, " ")
}

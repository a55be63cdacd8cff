package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resolute-run/resolute/examples/greeter"
	"github.com/resolute-run/resolute/runtime/discovery/discoverytest"
	"github.com/resolute-run/resolute/runtime/server"
	"github.com/resolute-run/resolute/sdk"
)

// The expectations in these tables are what restate-server 1.7.12 answered to the same
// requests (admin port, same greeter deployment), except where a row says otherwise.

type admReply struct {
	status int
	header http.Header
	body   string
}

func admDo(t *testing.T, method, url, contentType, body string) admReply {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return admReply{resp.StatusCode, resp.Header, string(b)}
}

// admCase is one request and the answer wanted: the status, and the body exactly when want is
// a whole JSON object or empty, else its beginning or the beginning of its JSON error's message.
type admCase struct {
	name, method, path, ct, body string
	status                       int
	want                         string
}

func (c admCase) check(t *testing.T, base string) admReply {
	t.Helper()
	r := admDo(t, c.method, base+c.path, c.ct, c.body)
	ok := r.status == c.status
	switch {
	case strings.HasPrefix(c.want, "{") && strings.HasSuffix(c.want, "}"):
		ok = ok && r.body == c.want && r.header.Get("Content-Type") == "application/json"
	case c.want == "":
		ok = ok && r.body == ""
	default:
		var e struct {
			Message *string `json:"message"`
		}
		ok = ok && (strings.HasPrefix(r.body, c.want) ||
			json.Unmarshal([]byte(r.body), &e) == nil && e.Message != nil && strings.HasPrefix(*e.Message, c.want))
	}
	if !ok {
		t.Errorf("%s: %s %s answered %d %q, want %d %q", c.name, c.method, c.path, r.status, r.body, c.status, c.want)
	}
	return r
}

func startAdminServer(t *testing.T, dir string) *server.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := server.Start(ctx, server.Config{DataDir: dir, IngressAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", Partitions: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RegisterInProcess(ctx, "greeter", greeter.Endpoint()); err != nil {
		s.Close()
		t.Fatal(err)
	}
	return s
}

func decodeJSON(t *testing.T, what, body string) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("%s: %v: %s", what, err, body)
	}
	return v
}

// serviceSettings picks the settings PATCH /services changes from a ServiceMetadata.
func serviceSettings(t *testing.T, body string) string {
	t.Helper()
	v := decodeJSON(t, "service", body)
	var hs []string
	for _, h := range v["handlers"].([]any) {
		h := h.(map[string]any)
		hs = append(hs, fmt.Sprintf("%s:%v", h["name"], h["public"]))
	}
	return fmt.Sprintf("public=%v idempotency=%v journal=%v inactivity=%v abort=%v handlers=%s",
		v["public"], v["idempotency_retention"], v["journal_retention"], v["inactivity_timeout"], v["abort_timeout"], strings.Join(hs, ","))
}

// TestAdminModifyService: PATCH /services/{name} through the real server, its errors, and what
// it changes: a private service is refused at the ingress and still called from a handler
// (Welcome calls Greeter), its retention is what invocations get, and it all survives a restart.
func TestAdminModifyService(t *testing.T) {
	dir := t.TempDir()
	s := startAdminServer(t, dir)
	defer func() { s.Close() }()
	adm := s.AdminURL()
	const j = "application/json"
	for _, c := range []admCase{
		{"unknown service", "PATCH", "/services/Nope", j, `{"public":false}`, 404, `{"message":"not found in the schema registry: service with name 'Nope'","restate_code":null}`},
		{"content type", "PATCH", "/services/Greeter", "text/plain", `{"public":false}`, 415, "Expected request with `Content-Type: application/json`"},
		{"no content type", "PATCH", "/services/Greeter", "", ``, 415, "Expected request with `Content-Type: application/json`"},
		{"empty body", "PATCH", "/services/Greeter", j, ``, 400, "Failed to parse the request body as JSON: EOF while parsing a value at line 1 column 0"},
		{"not json", "PATCH", "/services/Greeter", j, `{"public":`, 400, "Failed to parse the request body as JSON: "},
		{"bad bool", "PATCH", "/services/Greeter", j, `{"public":"yes"}`, 422, "Failed to deserialize the JSON body into the target type: public: invalid type: string \"yes\", expected a boolean at line 1 column 15"},
		{"bad duration", "PATCH", "/services/Greeter", j, `{"idempotency_retention":"soon"}`, 422, `Failed to deserialize the JSON body into the target type: idempotency_retention: failed to parse input in the "friendly" duration format: expected duration to start with a unit value (a decimal integer) after an optional sign, but no integer was found`},
		{"workflow retention", "PATCH", "/services/Greeter", j, `{"workflow_completion_retention":"1h"}`, 400, `{"message":"modifying retention time for service type VirtualObject is unsupported","restate_code":null}`},
		{"nothing", "PATCH", "/services/Greeter", j, `{"bogus":1}`, 200, `{"name":"Greeter"`},
	} {
		c.check(t, adm)
	}
	before := admDo(t, "GET", adm+"/services/Greeter", "", "")
	if got, want := serviceSettings(t, before.body), "public=true idempotency=1d journal=1d inactivity=1m abort=10m handlers=count:true,greet:true"; got != want {
		t.Fatalf("before: %s, want %s", got, want)
	}

	r := admDo(t, "PATCH", adm+"/services/Greeter", j, `{"public":false,"journal_retention":"2h","inactivity_timeout":"PT5M","abort_timeout":"90 seconds","idempotency_retention":"3 days"}`)
	const patched = "public=false idempotency=3d journal=2h inactivity=5m abort=1m 30s handlers=count:false,greet:false"
	if got := serviceSettings(t, r.body); r.status != 200 || got != patched {
		t.Fatalf("PATCH: %d %s, want %s", r.status, got, patched)
	}
	in := s.IngressURL()
	const notPublic = `{"code":400,"message":"the invoked service is not public","source":"ingress"}`
	checkPrivate := func(when string) {
		t.Helper()
		if got := serviceSettings(t, admDo(t, "GET", adm+"/services/Greeter", "", "").body); got != patched {
			t.Errorf("%s: GET /services/Greeter: %s, want %s", when, got, patched)
		}
		for _, p := range []string{"/Greeter/bob/greet", "/Greeter/bob/greet/send"} {
			if r := admDo(t, "POST", in+p, j, `"Hi"`); r.status != 400 || r.body != notPublic {
				t.Errorf("%s: ingress %s: %d %s, want 400 %s", when, p, r.status, r.body, notPublic)
			}
		}
		svc, _ := s.Registry().Service("Greeter")
		if ret := svc.Retention("greet", true); ret.Completion != 3*24*3600*1000 || ret.Journal != 2*3600*1000 {
			t.Errorf("%s: retention of an idempotent greet: %+v, want 3d kept, journal 2h", when, ret)
		}
	}
	checkPrivate("after PATCH")
	// GET /deployments/{id} shows the service as modified, as restate-server does.
	depID := decodeJSON(t, "service", admDo(t, "GET", adm+"/services/Greeter", "", "").body)["deployment_id"].(string)
	for _, sv := range decodeJSON(t, "deployment", admDo(t, "GET", adm+"/deployments/"+depID, "", "").body)["services"].([]any) {
		if sv := sv.(map[string]any); sv["name"] == "Greeter" && (sv["public"] != false || sv["journal_retention"] != "2h") {
			t.Errorf("GET /deployments/%s shows Greeter public=%v journal=%v", depID, sv["public"], sv["journal_retention"])
		}
	}
	if r := admDo(t, "POST", in+"/Welcome/welcome", j, `"bob"`); r.status != 200 || r.body != `"Welcome bob for the 1-th time."` {
		t.Fatalf("Welcome calling the private Greeter: %d %s", r.status, r.body)
	}

	s.Close()
	s = startAdminServer(t, dir)
	adm, in = s.AdminURL(), s.IngressURL()
	checkPrivate("after a restart and the same registration")

	if r := admDo(t, "PATCH", adm+"/services/Greeter", j, `{"public":true}`); r.status != 200 {
		t.Fatalf("PATCH public: %d %s", r.status, r.body)
	}
	if r := admDo(t, "POST", in+"/Greeter/bob/greet", j, `"Hi"`); r.status != 200 || r.body != `"Hi bob for the 2-th time."` {
		t.Fatalf("public again: %d %s", r.status, r.body)
	}
}

// serveGreeter serves the greeter endpoint over h2c on a fresh port and returns its URI.
func serveGreeter(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go greeter.Endpoint().Serve(ln)
	t.Cleanup(func() { ln.Close() })
	return "http://" + ln.Addr().String() + "/"
}

// TestAdminDeployments: PATCH and DELETE /deployments/{id} through the real server.
func TestAdminDeployments(t *testing.T) {
	s := startAdminServer(t, t.TempDir())
	defer s.Close()
	adm, in := s.AdminURL(), s.IngressURL()
	const j = "application/json"
	a, b := serveGreeter(t), serveGreeter(t)
	r := admDo(t, "POST", adm+"/deployments", j, `{"uri":"`+a+`","force":true}`)
	if r.status != 201 {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	id := decodeJSON(t, "register", r.body)["id"].(string)
	refused := func() string {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		defer ln.Close()
		return "http://" + ln.Addr().String() + "/"
	}()
	older := discoverytest.NewServer(strings.Replace(greeterManifest(t, a), `"maxProtocolVersion":7`, `"maxProtocolVersion":6`, 1), "")
	defer older.Close()
	other := discoverytest.NewServer(discoverytest.Greeter, "")
	defer other.Close()
	const unknown = "dp_11111111111111111111111"
	for _, c := range []admCase{
		{"bad id", "PATCH", "/deployments/bogus", j, `{}`, 400, "Invalid URL: Cannot parse `deployment` with value `bogus`: bad format"},
		{"unknown id", "PATCH", "/deployments/" + unknown, j, `{"additional_headers":{"x-a":"b"}}`, 404, `{"message":"not found in the schema registry: ` + unknown + `","restate_code":null}`},
		{"content type", "PATCH", "/deployments/" + id, "text/plain", `{}`, 415, "Expected request with `Content-Type: application/json`"},
		{"empty body", "PATCH", "/deployments/" + id, j, ``, 400, "Failed to parse the request body as JSON: EOF while parsing a value at line 1 column 0"},
		{"lambda", "PATCH", "/deployments/" + id, j, `{"arn":"arn:aws:lambda:eu-central-1:1:function:f:1"}`, 400, `{"message":"The request field 'arn' is invalid. Reason: Lambda deployments are not supported by this server","restate_code":null}`},
		// restate-server: 500 META0003 "error when calling '…': h2 pool connection error: Connection refused"
		{"unreachable", "PATCH", "/deployments/" + id, j, `{"uri":"` + refused + `"}`, 500, `{"message":"[META0003] `},
		{"protocol", "PATCH", "/deployments/" + id, j, `{"uri":"` + older.URL + `"}`, 400, `{"message":"[META0016] an update deployment operation must provide an endpoint with the same services and handlers. The update tried to change the supported protocol versions from 5..=7 to 5..=6","restate_code":"META0016"}`},
		// Ours only: restate-server 1.7.12 accepts an address that serves other services.
		{"other services", "PATCH", "/deployments/" + id, j, `{"uri":"` + other.URL + `"}`, 400, `{"message":"[META0016] an update deployment operation must provide an endpoint with the same services and handlers. The update tried to change the type of the service 'Greeter' from VirtualObject to Service","restate_code":"META0016"}`},
		{"dry run", "PATCH", "/deployments/" + id, j, `{"uri":"` + b + `","dry_run":true}`, 200, `{"id":"` + id + `","uri":"` + b + `"`},
	} {
		r := c.check(t, adm)
		if c.status == 500 && !strings.Contains(r.body, `"restate_code":"META0003"`) {
			t.Errorf("%s: %s", c.name, r.body)
		}
	}
	if d, _ := s.Registry().DeploymentFor("Greeter"); d.URI != a {
		t.Fatalf("a dry run or a refused update moved the deployment to %s", d.URI)
	}
	r = admDo(t, "PATCH", adm+"/deployments/"+id, j, `{"uri":"`+b+`","additional_headers":{"x-a":"b"}}`)
	v := decodeJSON(t, "update", r.body)
	if r.status != 200 || v["uri"] != b || fmt.Sprint(v["additional_headers"]) != "map[x-a:b]" || len(v["services"].([]any)) != 2 {
		t.Fatalf("update: %d %s", r.status, r.body)
	}
	if d, _ := s.Registry().DeploymentFor("Greeter"); d.URI != b || d.ID.String() != id {
		t.Fatalf("Greeter routes to %s %s", d.ID, d.URI)
	}
	if r := admDo(t, "POST", in+"/Greeter/ann/greet", j, `"Hi"`); r.status != 200 || r.body != `"Hi ann for the 1-th time."` {
		t.Fatalf("call after the move: %d %s", r.status, r.body)
	}
	if g := admDo(t, "GET", adm+"/deployments/"+id, "", ""); !strings.Contains(g.body, `"uri":"`+b+`"`) || !strings.Contains(g.body, `"additional_headers":{"x-a":"b"}`) {
		t.Fatalf("GET after update: %s", g.body)
	}

	for _, c := range []admCase{
		{"bad id", "DELETE", "/deployments/bogus?force=true", "", "", 400, "Invalid URL: Cannot parse `deployment` with value `bogus`: bad format"},
		{"no force", "DELETE", "/deployments/" + id, "", "", 501, ""},
		{"force false", "DELETE", "/deployments/" + id + "?force=false", "", "", 501, ""},
		{"no force, unknown", "DELETE", "/deployments/" + unknown, "", "", 501, ""},
		{"bad force", "DELETE", "/deployments/" + id + "?force=yes", "", "", 400, "Failed to deserialize query string: force: provided string was not `true` or `false`"},
		{"unknown id", "DELETE", "/deployments/" + unknown + "?force=true", "", "", 404, `{"message":"not found in the schema registry: deployment with id '` + unknown + `'","restate_code":null}`},
		{"forced", "DELETE", "/deployments/" + id + "?force=true", "", "", 202, ""},
		{"gone", "GET", "/deployments/" + id, "", "", 404, `{"message":"The requested deployment '` + id + `' does not exist","restate_code":null}`},
		{"service gone", "GET", "/services/Greeter", "", "", 404, `{"message":"The requested service 'Greeter' does not exist","restate_code":null}`},
		{"again", "DELETE", "/deployments/" + id + "?force=true", "", "", 404, `{"message":"not found in the schema registry: deployment with id '` + id + `'","restate_code":null}`},
	} {
		c.check(t, adm)
	}
	if r := admDo(t, "POST", in+"/Greeter/ann/greet", j, `"Hi"`); r.status != 404 || !strings.Contains(r.body, "service 'Greeter' not found") {
		t.Fatalf("ingress after delete: %d %s", r.status, r.body)
	}
}

// greeterManifest is the manifest the greeter endpoint at uri answers.
func greeterManifest(t *testing.T, uri string) string {
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
	return string(b)
}

// TestAdminServiceOpenAPI: GET /services/{name}/openapi through the real server (the document's
// layout is compared with restate-server's in runtime/admin).
func TestAdminServiceOpenAPI(t *testing.T) {
	s := startAdminServer(t, t.TempDir())
	defer s.Close()
	adm := s.AdminURL()
	admCase{"unknown", "GET", "/services/Nope/openapi", "", "", 404, `{"message":"The requested service 'Nope' does not exist","restate_code":null}`}.check(t, adm)
	r := admDo(t, "GET", adm+"/services/Greeter/openapi", "", "")
	doc := decodeJSON(t, "openapi", r.body)
	var paths []string
	for p := range doc["paths"].(map[string]any) {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	want := "/restate/call/Greeter/{key}/count /restate/call/Greeter/{key}/greet " +
		"/restate/invocation/Greeter/{key}/count/{idempotencyKey}/attach /restate/invocation/Greeter/{key}/count/{idempotencyKey}/output " +
		"/restate/invocation/Greeter/{key}/greet/{idempotencyKey}/attach /restate/invocation/Greeter/{key}/greet/{idempotencyKey}/output " +
		"/restate/send/Greeter/{key}/count /restate/send/Greeter/{key}/greet"
	if r.status != 200 || doc["openapi"] != "3.1.0" || strings.Join(paths, " ") != want {
		t.Fatalf("%d openapi=%v paths %s", r.status, doc["openapi"], strings.Join(paths, " "))
	}
	if servers := fmt.Sprint(doc["servers"]); servers != "[map[description:Restate Ingress URL url:"+s.IngressURL()+"/]]" {
		t.Fatalf("servers %s", servers)
	}
}

var pathParamRE = regexp.MustCompile(`\{[^}]*\}`)

// TestAdminOpenAPIDescribesServedRoutes: GET /openapi lists every route the admin API serves and
// no other. Candidates are every route restate-server 1.7.12 describes and ours; each is asked
// of the server, and it is served when the answer is not the unknown-route 404 nor the 405.
func TestAdminOpenAPIDescribesServedRoutes(t *testing.T) {
	s := startAdminServer(t, t.TempDir())
	defer s.Close()
	adm := s.AdminURL()
	r := admDo(t, "GET", adm+"/openapi", "", "")
	doc := decodeJSON(t, "openapi", r.body)
	if r.status != 200 || doc["openapi"] != "3.1.0" {
		t.Fatalf("GET /openapi: %d %.200s", r.status, r.body)
	}
	modify := doc["components"].(map[string]any)["schemas"].(map[string]any)["ModifyServiceRequest"].(map[string]any)["properties"].(map[string]any)
	for _, field := range []string{"public", "idempotency_retention", "workflow_completion_retention", "journal_retention", "inactivity_timeout", "abort_timeout", "retry_policy"} {
		if modify[field] == nil {
			t.Errorf("ModifyServiceRequest does not describe %s", field)
		}
	}
	described := map[string]bool{}
	for p, item := range doc["paths"].(map[string]any) {
		for m, op := range item.(map[string]any) {
			described[strings.ToUpper(m)+" "+pathParamRE.ReplaceAllString(p, "{}")] = true
			if op.(map[string]any)["responses"] == nil {
				t.Errorf("%s %s has no responses", m, p)
			}
		}
	}
	candidates := map[string]bool{"GET /services/{}/state/{}": true, "GET /openapi": true, "GET /nope": true, "PUT /services/{}": true}
	raw, err := os.ReadFile("../admin/restate_admin_openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var official struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(raw, &official); err != nil {
		t.Fatal(err)
	}
	for p, item := range official.Paths {
		for m := range item {
			candidates[strings.ToUpper(m)+" "+pathParamRE.ReplaceAllString(p, "{}")] = true
		}
	}
	for k := range described {
		candidates[k] = true
	}
	served := 0
	for k := range candidates {
		method, path, _ := strings.Cut(k, " ")
		// Ask with no body and no content type: served routes answer without side effects.
		r := admDo(t, method, adm+pathParamRE.ReplaceAllString(path, "x"), "", "")
		fallback := r.status == 405 || r.status == 404 && strings.Contains(r.body, "no admin API route matches")
		switch {
		case fallback && described[k]:
			t.Errorf("%s is described but not served: %d %s", k, r.status, r.body)
		case !fallback && !described[k]:
			t.Errorf("%s is served (%d %s) but not described", k, r.status, r.body)
		case !fallback:
			served++
		}
		if fallback && (r.header.Get("Content-Type") != "application/json" || !strings.HasPrefix(r.body, `{"message":"`) || !strings.HasSuffix(r.body, `,"restate_code":null}`)) {
			t.Errorf("%s: fallback %d answered %q %s", k, r.status, r.header.Get("Content-Type"), r.body)
		}
		if r.status == 405 && r.header.Get("Allow") == "" {
			t.Errorf("%s: 405 without Allow", k)
		}
	}
	if served != len(described) || served < 20 {
		t.Fatalf("%d routes served, %d described", served, len(described))
	}
}

// TestAdminModifyServiceRetryPolicy: our extension of PATCH /services/{name} (restate-server
// 1.7.12 has no retry policy there and ignored the field when probed) is what the invoker runs
// with: a handler that always fails is killed after the PATCHed two attempts, where the
// default policy would pause it after many.
func TestAdminModifyServiceRetryPolicy(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := server.Start(ctx, server.Config{DataDir: t.TempDir(), IngressAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", Partitions: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var attempts atomic.Int64
	flaky := sdk.NewService("Flaky").Handler("fail", sdk.ServiceHandler(func(ctx sdk.Context, _ sdk.Void) (string, error) {
		return "", fmt.Errorf("attempt %d failed", attempts.Add(1))
	}))
	if err := s.RegisterInProcess(ctx, "flaky", sdk.NewEndpoint().Bind(flaky)); err != nil {
		t.Fatal(err)
	}
	adm, in := s.AdminURL(), s.IngressURL()
	const j = "application/json"
	for _, c := range []admCase{
		{"on_max_attempts", "PATCH", "/services/Flaky", j, `{"retry_policy":{"on_max_attempts":"Later"}}`, 422, "Failed to deserialize the JSON body into the target type: retry_policy.on_max_attempts: unknown variant `Later`, expected `Pause` or `Kill`"},
		{"max_attempts", "PATCH", "/services/Flaky", j, `{"retry_policy":{"max_attempts":0}}`, 422, "Failed to deserialize the JSON body into the target type: retry_policy.max_attempts: want at least 1 attempt, got 0"},
		{"factor", "PATCH", "/services/Flaky", j, `{"retry_policy":{"exponentiation_factor":0.5}}`, 422, "Failed to deserialize the JSON body into the target type: retry_policy.exponentiation_factor: want a number of at least 1, got 0.5"},
		{"interval", "PATCH", "/services/Flaky", j, `{"retry_policy":{"initial_interval":"0s"}}`, 422, `Failed to deserialize the JSON body into the target type: retry_policy.initial_interval: want a positive duration, got "0s"`},
	} {
		c.check(t, adm)
	}
	r := admDo(t, "PATCH", adm+"/services/Flaky", j, `{"retry_policy":{"max_attempts":2,"on_max_attempts":"Kill","initial_interval":"10ms","max_interval":"20ms","exponentiation_factor":1.5}}`)
	rp, _ := json.Marshal(decodeJSON(t, "PATCH", r.body)["retry_policy"])
	if want := `{"exponentiation_factor":1.5,"initial_interval":"10ms","max_attempts":2,"max_interval":"20ms","on_max_attempts":"Kill"}`; r.status != 200 || string(rp) != want {
		t.Fatalf("PATCH retry_policy: %d %s, want %s", r.status, rp, want)
	}
	r = admDo(t, "POST", in+"/Flaky/fail", "", "")
	if r.status != 500 || !strings.Contains(r.body, "attempt 2 failed") || attempts.Load() != 2 {
		t.Fatalf("call: %d %s after %d attempts, want 500 with the second attempt's error", r.status, r.body, attempts.Load())
	}
}

// TestAdminModifyServiceRetention: the idempotency retention PATCHed on a service is the one an
// idempotent call of it gets. A repeat within the retention answers the first result; once it
// has passed, the cleanup removed the entry and the same key runs the handler again.
func TestAdminModifyServiceRetention(t *testing.T) {
	s := startAdminServer(t, t.TempDir())
	defer s.Close()
	const retention = 2 * time.Second
	if r := admDo(t, "PATCH", s.AdminURL()+"/services/Greeter", "application/json", `{"idempotency_retention":"2s"}`); r.status != 200 {
		t.Fatalf("PATCH: %d %s", r.status, r.body)
	}
	call := func() string {
		t.Helper()
		req, _ := http.NewRequest("POST", s.IngressURL()+"/Greeter/bob/greet", strings.NewReader(`"Hi"`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("idempotency-key", "k")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	const first, second = `"Hi bob for the 1-th time."`, `"Hi bob for the 2-th time."`
	if got := call(); got != first {
		t.Fatalf("first call: %s", got)
	}
	done := time.Now()
	if got := call(); time.Since(done) < retention && got != first {
		t.Fatalf("a repeat within the retention ran again: %s", got)
	}
	// Under the default retention (a day) the key would answer the first result all along.
	deadline := time.Now().Add(30 * time.Second)
	for got := call(); got != second; got = call() {
		if got != first || time.Now().After(deadline) {
			t.Fatalf("after the retention: %s, want %s (the entry expired and the key ran again)", got, second)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

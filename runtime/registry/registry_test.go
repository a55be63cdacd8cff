package registry_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/discovery"
	"github.com/resolute-run/resolute/runtime/registry"
)

func openMem(t *testing.T) *pebble.DB {
	t.Helper()
	db, err := pebble.Open("", &pebble.Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// seqRand is deterministic entropy: each read fills with the next counter value.
type seqRand struct{ n byte }

func (s *seqRand) Read(p []byte) (int, error) {
	s.n++
	for i := range p {
		p[i] = s.n
	}
	return len(p), nil
}

func newClient(reg *registry.Registry) registry.Client {
	ms := int64(1_700_000_000_000)
	return registry.Client{
		Propose: reg.ProposeLocal,
		Now:     func() time.Time { ms += 1000; return time.UnixMilli(ms) },
		Rand:    &seqRand{},
	}
}

func manifest(t *testing.T, services string) discovery.Manifest {
	t.Helper()
	m, err := discovery.ParseManifest([]byte(`{"protocolMode":"BIDI_STREAM","minProtocolVersion":5,"maxProtocolVersion":7,"services":[`+services+`]}`), "application/vnd.restate.endpointmanifest.v4+json")
	if err != nil {
		t.Fatal(err)
	}
	m.SDKVersion = "test-sdk/1"
	return m
}

const (
	greeter  = `{"name":"Greeter","ty":"SERVICE","handlers":[{"name":"greet","input":{"required":true,"contentType":"application/json"},"output":{"contentType":"application/json"}}]}`
	greeter2 = `{"name":"Greeter","ty":"SERVICE","handlers":[{"name":"greet"},{"name":"wave","input":{}}]}`
	counter  = `{"name":"Counter","ty":"VIRTUAL_OBJECT","handlers":[{"name":"get","ty":"SHARED"},{"name":"add"}]}`
	counterS = `{"name":"Counter","ty":"SERVICE","handlers":[{"name":"add"}]}`
)

func TestRegisterLifecycle(t *testing.T) {
	reg, err := registry.New(openMem(t))
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(reg)
	ctx := context.Background()

	first, err := c.Register(ctx, registry.RegisterRequest{URI: "http://a:9080", Manifest: manifest(t, greeter+","+counter), AdditionalHeaders: map[string]string{"b": "2", "a": "1"}})
	if err != nil || first.Outcome != registry.Created {
		t.Fatalf("first: %+v %v", first, err)
	}
	d := first.Deployment
	if d.URI != "http://a:9080/" || d.SDKVersion != "test-sdk/1" || d.MinProtocolVersion != 5 || d.MaxProtocolVersion != 7 ||
		d.ProtocolMode != "BIDI_STREAM" || len(d.Services) != 2 || d.Services[0].Name != "Counter" || d.CreatedAt == 0 ||
		!reflect.DeepEqual(d.AdditionalHeaders, []registry.Header{{Name: "a", Value: "1"}, {Name: "b", Value: "2"}}) {
		t.Fatalf("deployment: %+v", d)
	}
	svc, ok := reg.Service("Counter")
	if !ok || svc.Type != command.VirtualObject || svc.Revision != 1 || svc.DeploymentID != d.ID {
		t.Fatalf("Counter: %+v", svc)
	}
	if h, ok := reg.Handler("Counter", "add"); !ok || h.Type != command.Exclusive || h.Input.ContentType != "*/*" || h.Output.ContentType != "application/json" {
		t.Fatalf("Counter/add: %+v", h)
	}
	if h, ok := reg.Handler("Counter", "get"); !ok || h.Type != command.Shared {
		t.Fatalf("Counter/get: %+v", h)
	}
	if _, ok := reg.Handler("Counter", "nope"); ok {
		t.Fatal("unknown handler found")
	}

	// Same URI, same services: unchanged.
	again, err := c.Register(ctx, registry.RegisterRequest{URI: "http://a:9080/", Manifest: manifest(t, counter+","+greeter), AdditionalHeaders: map[string]string{"a": "1", "b": "2"}})
	if err != nil || again.Outcome != registry.Unchanged || again.Deployment.ID != d.ID {
		t.Fatalf("again: %+v %v", again, err)
	}
	if s, _ := reg.Service("Greeter"); s.Revision != 1 {
		t.Fatalf("revision changed: %+v", s)
	}

	// New URI with known services: new deployment, revision 2, routing moves.
	second, err := c.Register(ctx, registry.RegisterRequest{URI: "http://b:9080/", Manifest: manifest(t, greeter)})
	if err != nil || second.Outcome != registry.Created || second.Deployment.ID == d.ID {
		t.Fatalf("second: %+v %v", second, err)
	}
	if s, _ := reg.Service("Greeter"); s.Revision != 2 || s.DeploymentID != second.Deployment.ID {
		t.Fatalf("Greeter after move: %+v", s)
	}
	if dep, ok := reg.DeploymentFor("Greeter"); !ok || dep.ID != second.Deployment.ID {
		t.Fatalf("DeploymentFor(Greeter) = %v", dep.ID)
	}
	if dep, ok := reg.DeploymentFor("Counter"); !ok || dep.ID != d.ID {
		t.Fatalf("DeploymentFor(Counter) = %v", dep.ID)
	}
	if deps := reg.Deployments(); len(deps) != 2 || deps[0].ID != d.ID {
		t.Fatalf("deployments: %v", deps)
	}

	// Same URI, changed services, no force: conflict.
	_, err = c.Register(ctx, registry.RegisterRequest{URI: "http://b:9080/", Manifest: manifest(t, greeter2)})
	var rej *registry.RejectedError
	if !errors.Is(err, registry.ErrConflict) || !errors.As(err, &rej) || rej.Code != "META0004" || rej.Status != 409 {
		t.Fatalf("changed without force: %v", err)
	}

	// Dry run with force: says Overwritten, writes nothing.
	dry, err := c.Register(ctx, registry.RegisterRequest{URI: "http://b:9080/", Manifest: manifest(t, greeter2), Force: true, DryRun: true})
	if err != nil || dry.Outcome != registry.Overwritten {
		t.Fatalf("dry run: %+v %v", dry, err)
	}
	if _, ok := reg.Handler("Greeter", "wave"); ok {
		t.Fatal("dry run wrote")
	}

	// With force: replaced in place, same id, revision bumped.
	forced, err := c.Register(ctx, registry.RegisterRequest{URI: "http://b:9080/", Manifest: manifest(t, greeter2), Force: true})
	if err != nil || forced.Outcome != registry.Overwritten || forced.Deployment.ID != second.Deployment.ID || forced.Deployment.CreatedAt != second.Deployment.CreatedAt {
		t.Fatalf("forced: %+v %v", forced, err)
	}
	if s, _ := reg.Service("Greeter"); s.Revision != 3 || len(s.Handlers) != 2 {
		t.Fatalf("Greeter after force: %+v", s)
	}

	// Type change: META0006 unless forced.
	_, err = c.Register(ctx, registry.RegisterRequest{URI: "http://c:9080/", Manifest: manifest(t, counterS)})
	if !errors.As(err, &rej) || rej.Code != "META0006" {
		t.Fatalf("type change: %v", err)
	}
	if _, err := c.Register(ctx, registry.RegisterRequest{URI: "http://c:9080/", Manifest: manifest(t, counterS), Force: true}); err != nil {
		t.Fatalf("forced type change: %v", err)
	}
	if s, _ := reg.Service("Counter"); s.Type != command.Service || s.Revision != 2 {
		t.Fatalf("Counter after type change: %+v", s)
	}

	// Force-replacing a deployment with fewer services drops the ones it alone served.
	if _, err := c.Register(ctx, registry.RegisterRequest{URI: "http://c:9080/", Manifest: manifest(t, `{"name":"Other","ty":"SERVICE","handlers":[]}`), Force: true}); err != nil {
		t.Fatal(err)
	}
	if _, ok := reg.Service("Counter"); ok {
		t.Fatal("Counter still registered")
	}
	if names := serviceNames(reg.Services()); !reflect.DeepEqual(names, []string{"Greeter", "Other"}) {
		t.Fatalf("services %v", names)
	}
}

func serviceNames(s []registry.Service) []string {
	var out []string
	for _, x := range s {
		out = append(out, x.Name)
	}
	return out
}

func TestReopenRebuildsView(t *testing.T) {
	dir := t.TempDir()
	db, err := pebble.Open(dir, &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := registry.New(db)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(reg)
	for i, uri := range []string{"http://a/", "http://b/"} {
		if _, err := c.Register(context.Background(), registry.RegisterRequest{URI: uri, Manifest: manifest(t, greeter+","+counter)}); err != nil {
			t.Fatalf("register %d: %v", i, err)
		}
	}
	wantServices, wantDeps := reg.Services(), reg.Deployments()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = pebble.Open(dir, &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	reg2, err := registry.New(db)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(reg2.Services(), wantServices) || !reflect.DeepEqual(reg2.Deployments(), wantDeps) {
		t.Fatalf("view after reopen differs:\n%+v\n%+v", reg2.Services(), wantServices)
	}
	if s, _ := reg2.Service("Greeter"); s.Revision != 2 {
		t.Fatalf("Greeter %+v", s)
	}
}

// TestDeterministic applies the same log to two stores and compares every byte. The log holds
// every kind of registration (created, moved, overwritten, rejected), so the stores hold
// deployments and services to compare, not nothing.
func TestDeterministic(t *testing.T) {
	var logs [][]byte
	db1 := openMem(t)
	reg1, err := registry.New(db1)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(reg1)
	c.Propose = func(ctx context.Context, data []byte) ([]byte, error) {
		logs = append(logs, data)
		return reg1.ProposeLocal(ctx, data)
	}
	headers := map[string]string{"x": "1", "y": "2", "z": "3", "w": "4"}
	steps := []struct {
		req      registry.RegisterRequest
		outcome  registry.Outcome
		conflict bool
	}{
		{registry.RegisterRequest{URI: "http://a/", Manifest: manifest(t, greeter+","+counter), AdditionalHeaders: headers}, registry.Created, false},
		{registry.RegisterRequest{URI: "http://b/", Manifest: manifest(t, greeter)}, registry.Created, false},
		{registry.RegisterRequest{URI: "http://b/", Manifest: manifest(t, greeter2), Force: true}, registry.Overwritten, false},
		{registry.RegisterRequest{URI: "http://b/", Manifest: manifest(t, greeter)}, 0, true},
		{registry.RegisterRequest{URI: "http://b/", Manifest: manifest(t, greeter), Force: true}, registry.Overwritten, false},
	}
	for i, st := range steps {
		res, err := c.Register(context.Background(), st.req)
		if st.conflict {
			if !errors.Is(err, registry.ErrConflict) {
				t.Fatalf("step %d: %+v, %v; want a conflict", i, res, err)
			}
			continue
		}
		if err != nil || res.Outcome != st.outcome {
			t.Fatalf("step %d: %+v, %v; want outcome %v", i, res, err, st.outcome)
		}
	}
	if len(logs) != len(steps) {
		t.Fatalf("%d log entries, want %d", len(logs), len(steps))
	}
	db2 := openMem(t)
	reg2, err := registry.New(db2)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range logs {
		if _, err := reg2.ProposeLocal(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	a, b := dump(t, db1), dump(t, db2)
	// Two deployments and two services at least: an empty store would compare equal too.
	if n := strings.Count(a, "\n"); n < 4 {
		t.Fatalf("store holds %d keys after the registrations:\n%s", n, a)
	}
	if a != b {
		t.Fatalf("stores differ:\n%s\n%s", a, b)
	}
	if deps := reg2.Deployments(); len(deps) != 2 || deps[0].URI != "http://a/" || deps[1].URI != "http://b/" {
		t.Fatalf("replayed deployments %+v", deps)
	}
	if names := serviceNames(reg2.Services()); !reflect.DeepEqual(names, []string{"Counter", "Greeter"}) {
		t.Fatalf("replayed services %v", names)
	}
	if !reflect.DeepEqual(reg1.Services(), reg2.Services()) || !reflect.DeepEqual(reg1.Deployments(), reg2.Deployments()) {
		t.Fatalf("views differ:\n%+v\n%+v", reg1.Services(), reg2.Services())
	}
}

func dump(t *testing.T, db *pebble.DB) string {
	it, err := db.NewIter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var buf bytes.Buffer
	for ok := it.First(); ok; ok = it.Next() {
		fmt.Fprintf(&buf, "%x=%x\n", it.Key(), it.Value())
	}
	return buf.String()
}

func TestApplyMalformed(t *testing.T) {
	db := openMem(t)
	reg, err := registry.New(db)
	if err != nil {
		t.Fatal(err)
	}
	for _, data := range [][]byte{nil, {0xc1}, mustEncode(t, registry.Command{Kind: 9})} {
		b := db.NewIndexedBatch()
		out, err := reg.Apply(b, data)
		b.Close()
		if err != nil {
			t.Fatalf("Apply(%x) error %v", data, err)
		}
		res, err := registry.DecodeResult(out)
		if err != nil || res.Outcome != registry.Rejected || res.Error == nil {
			t.Fatalf("Apply(%x) = %+v, %v", data, res, err)
		}
	}
	// A future version is rejected too.
	if _, err := registry.DecodeCommand([]byte{0x82, 0xa1, 'v', 0x09, 0xa1, 'k', 0x01}); !errors.Is(err, registry.ErrUnknownVersion) {
		t.Fatalf("future version: %v", err)
	}
}

func mustEncode(t *testing.T, c registry.Command) []byte {
	b, err := registry.EncodeCommand(c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestInputValidate(t *testing.T) {
	noInput := registry.Input{}
	anyOrNone := registry.Input{ContentType: "*/*"}
	optJSON := registry.Input{ContentType: "application/json"}
	reqJSON := registry.Input{Required: true, ContentType: "application/json"}
	schema := registry.Input{Required: true, ContentType: "application/json", JSONSchema: []byte(`{"type":"string"}`)}
	text := registry.Input{Required: true, ContentType: "text/*"}
	tests := []struct {
		name string
		in   registry.Input
		ct   string
		body string
		err  string
	}{
		{"none, empty", noInput, "", "", ""},
		{"none, body", noInput, "application/json", "1", "Expected body and content-type to be empty, but wasn't with content-type 'Some(\"application/json\")'"},
		{"none, body without ct", noInput, "", "1", "Expected body and content-type to be empty, but wasn't with content-type 'None'"},
		{"default, empty", anyOrNone, "", "", ""},
		{"default, anything", anyOrNone, "image/png", "x", ""},
		{"default, body no ct", anyOrNone, "", "x", "Empty content-type"},
		{"optional json, empty", optJSON, "", "", ""},
		{"optional json, json", optJSON, "application/json; charset=utf-8", "{}", ""},
		{"optional json, text", optJSON, "text/plain", "hi", "Content-type 'text/plain' does not match 'application/json'"},
		{"required json, missing", reqJSON, "", "", "Empty content-type"},
		{"required json, empty body with ct", reqJSON, "application/json", "", ""},
		{"schema, empty body", schema, "application/json", "", "Empty body not allowed"},
		{"type wildcard", text, "text/csv", "a,b", ""},
		{"type wildcard mismatch", text, "application/csv", "a,b", "Content-type 'application/csv' does not match 'text/*'"},
		{"case insensitive", optJSON, "Application/JSON", "{}", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.in.Validate(tt.ct, []byte(tt.body))
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.err {
				t.Fatalf("Validate(%q, %q) = %q, want %q", tt.ct, tt.body, got, tt.err)
			}
		})
	}
}

func TestServicesFromManifestDefaults(t *testing.T) {
	svcs, err := registry.ServicesFromManifest(manifest(t, `{"name":"W","ty":"WORKFLOW","handlers":[{"name":"run","ty":"WORKFLOW","workflowCompletionRetention":5,"output":{"setContentTypeIfEmpty":true}},{"name":"peek","ingressPrivate":true}]}`))
	if err != nil {
		t.Fatal(err)
	}
	w := svcs[0]
	run, _ := w.Handler("run")
	peek, _ := w.Handler("peek")
	if w.Type != command.Workflow || run.Type != command.WorkflowHandler || peek.Type != command.Shared ||
		run.Output.ContentType != "" || !run.Output.SetContentTypeIfEmpty || *run.Options.WorkflowCompletionRetention != 5 ||
		!peek.Options.IngressPrivate || peek.Output.ContentTypeFor(false) != "application/json" || peek.Output.ContentTypeFor(true) != "" {
		t.Fatalf("%+v", w)
	}
}

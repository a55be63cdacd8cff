package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resolute-run/resolute/runtime/server"
	"github.com/resolute-run/resolute/sdk"
)

// tallies is a Virtual Object whose add runs count into adds (to see that refused requests
// never run).
func tallies(adds *atomic.Int64) *sdk.Endpoint {
	return sdk.NewEndpoint().Bind(sdk.NewObject("Tally").
		Handler("add", sdk.ObjectHandler(func(ctx sdk.ObjectContext, n int) (int, error) {
			adds.Add(1)
			v, err := sdk.Get[int](ctx, "v")
			if err != nil {
				return 0, err
			}
			sdk.Set(ctx, "v", v+n)
			return v + n, nil
		})).
		Handler("get", sdk.SharedHandler(func(ctx sdk.ObjectSharedContext, _ sdk.Void) (int, error) {
			return sdk.Get[int](ctx, "v")
		})).
		Handler("headers", sdk.SharedHandler(func(ctx sdk.ObjectSharedContext, _ sdk.Void) (map[string]string, error) {
			return ctx.Headers(), nil
		})))
}

type authReply struct {
	status    int
	challenge string
	body      string
}

func authDo(t *testing.T, method, url, body string, hdr map[string]string) authReply {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("content-type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return authReply{resp.StatusCode, resp.Header.Get("WWW-Authenticate"), string(b)}
}

func bearerHdr(tok string) map[string]string {
	if tok == "" {
		return nil
	}
	return map[string]string{"Authorization": tok}
}

// TestBearerTokens: with tokens configured, the admin API and the ingress each take any of their
// own tokens, answer 401 in their own error shape with a challenge otherwise, keep health open,
// and a refused ingress request leaves no invocation behind.
func TestBearerTokens(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := server.Start(ctx, server.Config{
		DataDir: t.TempDir(), IngressAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", Partitions: 2,
		AdminTokens:   []string{"admin-old", "admin-new"},
		IngressTokens: []string{"ingress-old", "ingress-new"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var adds atomic.Int64
	if err := s.RegisterInProcess(ctx, "tally", tallies(&adds)); err != nil {
		t.Fatal(err)
	}
	admin, ing := s.AdminURL(), s.IngressURL()
	// The shapes of the 401 bodies: the admin API's and the ingress's own.
	adminErr := func(msg string) string { return `{"message":"` + msg + `","restate_code":null}` }
	ingErr := func(msg string) string { return `{"code":401,"message":"` + msg + `","source":"ingress"}` }
	const missing, invalid = "missing bearer token", "invalid bearer token"
	missingChallenge := func(realm string) string { return `Bearer realm="` + realm + `"` }
	invalidChallenge := func(realm string) string { return `Bearer realm="` + realm + `", error="invalid_token"` }

	for _, tt := range []struct {
		name, method, url, body, auth string
		status                        int
		challenge, wantBody           string // wantBody "" checks nothing
	}{
		{"admin without token", "GET", admin + "/deployments", "", "", 401, missingChallenge(server.AdminRealm), adminErr(missing)},
		{"admin with the ingress token", "GET", admin + "/deployments", "", "Bearer ingress-old", 401, invalidChallenge(server.AdminRealm), adminErr(invalid)},
		{"admin with a wrong token", "GET", admin + "/deployments", "", "Bearer admin-older", 401, invalidChallenge(server.AdminRealm), adminErr(invalid)},
		{"admin with basic auth", "GET", admin + "/deployments", "", "Basic YWRtaW4tb2xkOg==", 401, missingChallenge(server.AdminRealm), adminErr(missing)},
		{"admin with the old token", "GET", admin + "/deployments", "", "Bearer admin-old", 200, "", ""},
		{"admin with the new token", "GET", admin + "/services", "", "bearer admin-new", 200, "", ""},
		{"admin health", "GET", admin + "/health", "", "", 200, "", ""},
		{"ingress without token", "POST", ing + "/Tally/a/add", "1", "", 401, missingChallenge(server.IngressRealm), ingErr(missing)},
		{"ingress with the admin token", "POST", ing + "/Tally/a/add", "1", "Bearer admin-old", 401, invalidChallenge(server.IngressRealm), ingErr(invalid)},
		{"ingress send with a wrong token", "POST", ing + "/Tally/a/add/send", "1", "Bearer nope", 401, invalidChallenge(server.IngressRealm), ingErr(invalid)},
		{"ingress health", "GET", ing + "/restate/health", "", "", 200, "", ""},
		{"ingress health spelled otherwise", "GET", ing + "/restate/heal%74h", "", "", 401, missingChallenge(server.IngressRealm), ingErr(missing)},
		{"ingress with the old token", "POST", ing + "/Tally/b/add", "2", "Bearer ingress-old", 200, "", "2"},
		{"ingress with the new token", "POST", ing + "/Tally/b/add", "3", "Bearer ingress-new", 200, "", "5"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := authDo(t, tt.method, tt.url, tt.body, bearerHdr(tt.auth))
			if r.status != tt.status || r.challenge != tt.challenge || tt.wantBody != "" && r.body != tt.wantBody {
				t.Fatalf("%d %q %s, want %d %q %s", r.status, r.challenge, r.body, tt.status, tt.challenge, tt.wantBody)
			}
		})
	}

	// Refused requests carrying an idempotency key leave nothing that the key finds; the same
	// request accepted does (so the check can tell).
	idem := func(auth string) map[string]string {
		h := map[string]string{"idempotency-key": "once"}
		if auth != "" {
			h["Authorization"] = auth
		}
		return h
	}
	for _, auth := range []string{"", "Bearer wrong"} {
		for _, path := range []string{"/Tally/c/add", "/Tally/c/add/send"} {
			if r := authDo(t, "POST", ing+path, "7", idem(auth)); r.status != 401 {
				t.Fatalf("POST %s with %q: %d %s", path, auth, r.status, r.body)
			}
		}
	}
	output := ing + "/restate/invocation/Tally/c/add/once/output"
	good := bearerHdr("Bearer ingress-new")
	if r := authDo(t, "GET", output, "", good); r.status != 404 {
		t.Fatalf("output of the refused idempotent call: %d %s, want 404", r.status, r.body)
	}
	if r := authDo(t, "POST", ing+"/Tally/c/get", "", good); r.status != 200 || r.body != "0" {
		t.Fatalf("state after refused adds: %d %s, want 0", r.status, r.body)
	}
	if n := adds.Load(); n != 2 {
		t.Fatalf("add ran %d times, want 2 (the two accepted calls)", n)
	}
	if r := authDo(t, "POST", ing+"/Tally/c/add", "7", idem("Bearer ingress-old")); r.status != 200 || r.body != "7" {
		t.Fatalf("accepted idempotent add: %d %s", r.status, r.body)
	}
	if r := authDo(t, "GET", output, "", good); r.status != 200 || r.body != "7" {
		t.Fatalf("output of the accepted idempotent call: %d %s, want 200 7", r.status, r.body)
	}
	// The token stays at the door: the invocation (its log entry, the deployment) never sees it.
	hdrs := authDo(t, "POST", ing+"/Tally/c/headers", "", map[string]string{"Authorization": "Bearer ingress-old", "X-Other": "kept"})
	var seen map[string]string
	if err := json.Unmarshal([]byte(hdrs.body), &seen); err != nil || seen["x-other"] != "kept" {
		t.Fatalf("headers seen by the handler: %d %s", hdrs.status, hdrs.body)
	}
	if v, ok := seen["authorization"]; ok {
		t.Fatalf("the handler saw the bearer token: authorization=%q", v)
	}
	var deployments struct {
		Deployments []json.RawMessage `json:"deployments"`
	}
	r := authDo(t, "GET", admin+"/deployments", "", bearerHdr("Bearer admin-new"))
	if err := json.Unmarshal([]byte(r.body), &deployments); err != nil || len(deployments.Deployments) != 1 {
		t.Fatalf("deployments with a valid token: %d %s", r.status, r.body)
	}
}

// TestBearerTokensOff: without tokens (the default, and always under resolute dev) both APIs
// answer requests that carry no Authorization header.
func TestBearerTokensOff(t *testing.T) {
	s := startServer(t, 0)
	var adds atomic.Int64
	if err := s.RegisterInProcess(t.Context(), "tally", tallies(&adds)); err != nil {
		t.Fatal(err)
	}
	if r := authDo(t, "POST", s.IngressURL()+"/Tally/a/add", "4", nil); r.status != 200 || r.body != "4" {
		t.Fatalf("ingress: %d %s", r.status, r.body)
	}
	if r := authDo(t, "GET", s.AdminURL()+"/deployments", "", nil); r.status != 200 {
		t.Fatalf("admin: %d %s", r.status, r.body)
	}
}

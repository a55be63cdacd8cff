package sdk_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/resolute-run/resolute/runtime/identity"
	"github.com/resolute-run/resolute/runtime/server"
	"github.com/resolute-run/resolute/sdk"
)

// identityKey generates a key pair and writes the private key where a server reads it.
func identityKey(t *testing.T) (pemFile, keyID string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	data, err := identity.MarshalPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	pemFile = filepath.Join(t.TempDir(), "identity.pem")
	if err := os.WriteFile(pemFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return pemFile, identity.KeyID(pub)
}

func echoEndpoint() *sdk.Endpoint {
	return sdk.NewEndpoint().Bind(sdk.NewService("Echo").
		Handler("say", sdk.ServiceHandler(func(ctx sdk.Context, s string) (string, error) {
			return "said " + s, nil
		})))
}

// serveOverTCP serves ep on a loopback port (h2c) until the test ends.
func serveOverTCP(t *testing.T, ep *sdk.Endpoint) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: ep.Handler()}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

func idPost(t *testing.T, url, body string, hdr http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = hdr
	if req.Header == nil {
		req.Header = http.Header{}
	}
	req.Header.Set("content-type", "application/json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func startSigning(t *testing.T, keyFile string) *server.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := server.Start(ctx, server.Config{DataDir: t.TempDir(), IngressAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", Partitions: 1, RequestIdentityKeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func registerBody(uri string) string {
	b, _ := json.Marshal(map[string]string{"uri": uri})
	return string(b)
}

// TestIdentityV1WithOurServer: an endpoint requiring our server's key accepts discovery and
// invocations from a server signing with that key, and refuses a server without a key, a server
// with another key, and unsigned requests; /health stays open.
func TestIdentityV1WithOurServer(t *testing.T) {
	keyFile, keyID := identityKey(t)
	otherFile, _ := identityKey(t)
	_, rotatedID := identityKey(t) // a second accepted key, as during a rotation
	dep := serveOverTCP(t, echoEndpoint().WithIdentityV1(rotatedID, keyID))

	for _, tt := range []struct {
		name    string
		keyFile string
	}{{"unsigned", ""}, {"signed with another key", otherFile}} {
		t.Run(tt.name, func(t *testing.T) {
			s := startSigning(t, tt.keyFile)
			status, body := idPost(t, s.AdminURL()+"/deployments", registerBody(dep), nil)
			t.Logf("registration refused: %d %s", status, body)
			if status == http.StatusCreated || !strings.Contains(body, "got status code '401'") {
				t.Fatalf("registration: %d %s, want a refusal mentioning the deployment's 401", status, body)
			}
		})
	}

	s := startSigning(t, keyFile)
	if status, body := idPost(t, s.AdminURL()+"/deployments", registerBody(dep), nil); status != http.StatusCreated {
		t.Fatalf("registration by the signing server: %d %s", status, body)
	}
	if status, body := idPost(t, s.IngressURL()+"/Echo/say", `"hi"`, nil); status != 200 || body != `"said hi"` {
		t.Fatalf("call through the signing server: %d %s", status, body)
	}
	// Over HTTP/1.1 (use_http_11), discovery and attempts are signed too.
	s11 := startSigning(t, keyFile)
	if status, body := idPost(t, s11.AdminURL()+"/deployments", `{"uri":"`+dep+`","use_http_11":true}`, nil); status != http.StatusCreated {
		t.Fatalf("HTTP/1.1 registration by the signing server: %d %s", status, body)
	}
	if status, body := idPost(t, s11.IngressURL()+"/Echo/say", `"ho"`, nil); status != 200 || body != `"said ho"` {
		t.Fatalf("HTTP/1.1 call through the signing server: %d %s", status, body)
	}
	resp, err := http.Get(s11.AdminURL() + "/deployments")
	if err != nil {
		t.Fatal(err)
	}
	listing, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(listing), `"http_version":"HTTP/1.1"`) {
		t.Fatalf("the deployment is not registered for HTTP/1.1: %s", listing)
	}

	// Requests straight to the deployment: unsigned, and signed for another path.
	key, err := identity.LoadSigningKey(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	wrongPath := http.Header{}
	key.SetHeaders(wrongPath, "/invoke/Echo/other", "", time.Now())
	for name, hdr := range map[string]http.Header{"unsigned": nil, "signed for another path": wrongPath} {
		hdr = hdr.Clone()
		if hdr == nil {
			hdr = http.Header{}
		}
		hdr.Set("content-type", "application/vnd.restate.invocation.v5")
		if status, body := idPost(t, dep+"/invoke/Echo/say", "", hdr); status != http.StatusUnauthorized {
			t.Errorf("%s invocation: %d %s, want 401", name, status, body)
		}
	}
	resp, err = http.Get(dep + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("health: %d", resp.StatusCode)
	}
}

func TestWithIdentityV1RefusesMalformedKeys(t *testing.T) {
	for _, k := range []string{"", "publickeyv1_", "publickeyv2_2NEpo7TZRRrLZSi2U", "publickeyv1_0OIl"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("WithIdentityV1(%q) accepted", k)
				}
			}()
			sdk.NewEndpoint().WithIdentityV1(k)
		}()
	}
}

//go:build linux

package e2e

import (
	"net/http"
	"testing"

	"github.com/resolute-run/resolute/tests/testenv"
)

// TestProxyRequestSigning ports ProxyRequestSigning.kt: the server signs its requests with
// RESTATE_REQUEST_IDENTITY_PRIVATE_KEY_PEM_FILE (ours: --request-identity-private-key-pem-file),
// the official TypeScript test services verify them (E2E_REQUEST_SIGNING, the SDK's
// identityKeys), and an idempotent add then get pass. Upstream commits a fixed key pair; this
// port generates one. unsignedRefused (ours, not upstream's) shows that the services do refuse
// an unsigned request, so the pass is not for want of checking.
func TestProxyRequestSigning(t *testing.T) {
	keyFile, keyID := testenv.IdentityKey(t)
	runClass(t, class{
		services: []string{"Counter"},
		env:      []string{"E2E_REQUEST_SIGNING=" + keyID},
		suites: []suite{{
			name:     "default",
			ours:     []string{"--request-identity-private-key-pem-file", keyFile},
			official: []string{"RESTATE_REQUEST_IDENTITY_PRIVATE_KEY_PEM_FILE=" + keyFile},
		}},
		scenarios: []scenario{
			{name: "requestSigningPass", run: func(t *testing.T, d *deployment) {
				counter := "/Counter/" + newUUID()
				d.call(counter+"/add", 1, idempotent()).ok(t)
				var n int
				d.call(counter+"/get", nil, idempotent()).value(t, &n)
				if n != 1 {
					t.Fatalf("get after add(1) = %d, want 1", n)
				}
			}},
			{name: "unsignedRefused", run: func(t *testing.T, d *deployment) {
				resp, err := testenv.H2CClient.Get(d.tap.URL + "/discover")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusUnauthorized {
					t.Fatalf("unsigned GET /discover: %d, want 401", resp.StatusCode)
				}
			}},
		},
	})
}

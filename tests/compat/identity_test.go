//go:build linux

package compat

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	resolute "github.com/resolute-run/resolute/runtime/server"
	"github.com/resolute-run/resolute/tests/testenv"
)

// TestOfficialGoSDKVerifiesOurSignature: the official Go SDK (compat/gosdk, sdk-go's
// WithIdentityV1) given our server's public key accepts its discovery and invocations, and refuses
// a server that does not sign and one that signs with another key.
func TestOfficialGoSDKVerifiesOurSignature(t *testing.T) {
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	goTool, err := exec.LookPath("go")
	testenv.RequirePrereq(t, err == nil, "go tool not found in PATH (needed to build compat/gosdk)")
	keyFile, keyID := testenv.IdentityKey(t)
	otherFile, _ := testenv.IdentityKey(t)

	bin := filepath.Join(t.TempDir(), "gosdk")
	testenv.GoBuild(t, goTool, filepath.Join(root, "compat", "gosdk"), bin, ".")
	port := testenv.FreePorts(t, 1)[0]
	proc := testenv.StartProc(t, "go-service", t.TempDir(), exec.Command(bin, "-port", fmt.Sprint(port), "-identity-keys", keyID))
	t.Cleanup(proc.Stop)
	t.Cleanup(func() { proc.DumpLogIfFailed(t) })
	dep := "http://" + testenv.Addr(port)
	testenv.WaitReady(t, "go-service", serviceReadyTimeout, func() error { return testenv.ExpectStatus(testenv.H2CClient, dep+"/health", http.StatusOK) }, proc)

	start := func(t *testing.T, keyFile string) *resolute.Server {
		ctx, cancel := context.WithTimeout(context.Background(), serverReadyTimeout)
		defer cancel()
		s, err := resolute.Start(ctx, resolute.Config{DataDir: t.TempDir(), IngressAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", Partitions: 1, RequestIdentityKeyFile: keyFile})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		return s
	}
	for _, tt := range []struct{ name, keyFile string }{{"unsigned", ""}, {"signed with another key", otherFile}} {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, tt.keyFile)
			_, err := testenv.Register(s.AdminURL(), dep)
			if err == nil || !strings.Contains(err.Error(), "got status code '401'") {
				t.Fatalf("registration: %v, want refused with the deployment's 401", err)
			}
		})
	}

	s := start(t, keyFile)
	if _, err := testenv.Register(s.AdminURL(), dep); err != nil {
		t.Fatalf("registration by the signing server: %v", err)
	}
	for i, want := range []string{"3", "7"} {
		r, err := testenv.Invoke(s.IngressURL(), "/GoCounter/signed/add", []string{"3", "4"}[i])
		if err != nil || r.Status != 200 || string(r.Body) != want {
			t.Fatalf("add %d through the signing server: %v %v, want %s", i, r, err, want)
		}
	}
}

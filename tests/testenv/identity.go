package testenv

import (
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/resolute-run/resolute/runtime/identity"
)

// IdentityKey generates a request identity key pair for one test: the private key as a PEM file
// (what restate-server and resolute read) and the public key id deployments are given.
func IdentityKey(t testing.TB) (pemFile, keyID string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	data, err := identity.MarshalPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	pemFile = filepath.Join(t.TempDir(), "request-identity.pem")
	if err := os.WriteFile(pemFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return pemFile, identity.KeyID(pub)
}

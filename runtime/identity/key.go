package identity

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// PrivateKeyFileEnv names the PEM file of the signing key, as restate-server reads it.
const PrivateKeyFileEnv = "RESTATE_REQUEST_IDENTITY_PRIVATE_KEY_PEM_FILE"

// KeyIDPrefix starts every v1 public key id.
const KeyIDPrefix = "publickeyv1_"

// ErrBadKey is wrapped by every failure to read a private key or parse a public key id.
var ErrBadKey = errors.New("identity: bad key")

// SigningKey is a server's request identity key.
type SigningKey struct {
	priv ed25519.PrivateKey
	kid  string
}

// NewSigningKey wraps an Ed25519 private key.
func NewSigningKey(priv ed25519.PrivateKey) *SigningKey {
	return &SigningKey{priv: priv, kid: KeyID(priv.Public().(ed25519.PublicKey))}
}

// LoadSigningKey reads a PEM file holding exactly one PKCS#8 Ed25519 private key, as
// restate-server does, and logs the public key id deployments are to be configured with.
func LoadSigningKey(path string) (*SigningKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: read request identity key: %v", ErrBadKey, err)
	}
	k, err := ParseSigningKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	slog.Info("loaded request identity key", "kid", k.kid, "path", path)
	return k, nil
}

// ParseSigningKey parses PEM data holding exactly one PKCS#8 Ed25519 private key.
func ParseSigningKey(data []byte) (*SigningKey, error) {
	var blocks []*pem.Block
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		blocks = append(blocks, b)
	}
	if len(blocks) != 1 {
		return nil, fmt.Errorf("%w: only one private key in PEM format is expected, found %d", ErrBadKey, len(blocks))
	}
	parsed, err := x509.ParsePKCS8PrivateKey(blocks[0].Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	priv, ok := parsed.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: a %T, not an Ed25519 key", ErrBadKey, parsed)
	}
	return NewSigningKey(priv), nil
}

// MarshalPrivateKey is the PEM form LoadSigningKey reads (PKCS#8).
func MarshalPrivateKey(priv ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("identity: marshal private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// KeyID is pub's id: "publickeyv1_" and the base58 of its 32 bytes.
func KeyID(pub ed25519.PublicKey) string { return KeyIDPrefix + base58Encode(pub) }

// KeyID is the id of k's public key.
func (k *SigningKey) KeyID() string { return k.kid }

// KeySet maps key ids to the public keys a deployment accepts.
type KeySet map[string]ed25519.PublicKey

// ParseKeySet parses "publickeyv1_…" ids; an empty list gives an empty set (that accepts nothing).
func ParseKeySet(ids ...string) (KeySet, error) {
	set := make(KeySet, len(ids))
	for _, id := range ids {
		b58, ok := strings.CutPrefix(id, KeyIDPrefix)
		if !ok {
			return nil, fmt.Errorf("%w %q: a v1 public key must start with %q", ErrBadKey, id, KeyIDPrefix)
		}
		pub, err := base58Decode(b58)
		if err != nil {
			return nil, fmt.Errorf("%w %q: %v", ErrBadKey, id, err)
		}
		if len(pub) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w %q: a v1 public key has %d bytes, not %d", ErrBadKey, id, ed25519.PublicKeySize, len(pub))
		}
		set[id] = ed25519.PublicKey(pub)
	}
	return set, nil
}

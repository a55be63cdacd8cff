package identity

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestBase58(t *testing.T) {
	for _, tt := range []struct {
		raw []byte
		enc string
	}{
		{[]byte("Hello World!"), "2NEpo7TZRRrLZSi2U"},
		{[]byte{0, 0, 1}, "112"},
		{[]byte{0}, "1"},
		{nil, ""},
		{[]byte{0xff, 0xff}, "LUv"},
	} {
		if got := base58Encode(tt.raw); got != tt.enc {
			t.Errorf("encode %x = %q, want %q", tt.raw, got, tt.enc)
		}
		if got, err := base58Decode(tt.enc); err != nil || !bytes.Equal(got, tt.raw) {
			t.Errorf("decode %q = %x, %v; want %x", tt.enc, got, err, tt.raw)
		}
	}
	if _, err := base58Decode("0OIl"); !errors.Is(err, errBase58) {
		t.Errorf("decode of letters outside the alphabet: %v", err)
	}
	for range 50 {
		pub, _, _ := ed25519.GenerateKey(rand.Reader)
		if got, _ := base58Decode(base58Encode(pub)); !bytes.Equal(got, pub) {
			t.Fatalf("round trip of %x gave %x", pub, got)
		}
	}
}

func newKey(t *testing.T) *SigningKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pemData, err := MarshalPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ParseSigningKey(pemData)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestKeys(t *testing.T) {
	k := newKey(t)
	set, err := ParseKeySet(k.KeyID())
	if err != nil || !bytes.Equal(set[k.KeyID()], k.priv.Public().(ed25519.PublicKey)) {
		t.Fatalf("ParseKeySet(%s) = %v, %v", k.KeyID(), set, err)
	}
	for _, bad := range []string{
		"AfQwmwfgEZhrWpvv8N52SHpRtZqGGaFr4AZN6qtYWSiY", // no prefix
		"publickeyv1_0OIl",              // not base58
		"publickeyv1_2NEpo7TZRRrLZSi2U", // 12 bytes
	} {
		if _, err := ParseKeySet(bad); !errors.Is(err, ErrBadKey) {
			t.Errorf("ParseKeySet(%q): %v, want ErrBadKey", bad, err)
		}
	}
	pemData, _ := MarshalPrivateKey(k.priv)
	for name, data := range map[string][]byte{
		"two keys": append(append([]byte{}, pemData...), pemData...),
		"no key":   []byte("not a pem"),
		"garbage":  []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
	} {
		if _, err := ParseSigningKey(data); !errors.Is(err, ErrBadKey) {
			t.Errorf("%s: %v, want ErrBadKey", name, err)
		}
	}
}

// forge builds a token from raw parts signed by k, for the cases Sign never produces.
func forge(k *SigningKey, hdr, cl any) string {
	h, _ := json.Marshal(hdr)
	c, _ := json.Marshal(cl)
	s := b64.EncodeToString(h) + "." + b64.EncodeToString(c)
	return s + "." + b64.EncodeToString(ed25519.Sign(k.priv, []byte(s)))
}

func TestVerify(t *testing.T) {
	k, other := newKey(t), newKey(t)
	keys, _ := ParseKeySet(k.KeyID())
	now := time.Unix(1_800_000_000, 0)
	const path = "/invoke/Greeter/greet"
	good := k.Sign(path, "alice", now, DefaultLeeway)
	parts := strings.Split(good, ".")
	exp, nbf := now.Unix()+60, now.Unix()-60
	hdr := jwtHeader{Typ: "JWT", Alg: "EdDSA", Kid: k.KeyID()}
	for _, tt := range []struct {
		name   string
		scheme []string
		jwt    []string
		path   string
		at     time.Time
		ok     bool
	}{
		{name: "signed", scheme: []string{"v1"}, jwt: []string{good}, ok: true},
		{name: "at the edge of the window", scheme: []string{"v1"}, jwt: []string{good}, at: now.Add(DefaultLeeway), ok: true},
		{name: "aud as an array", scheme: []string{"v1"}, jwt: []string{forge(k, hdr, map[string]any{"aud": []string{"x", path}, "exp": exp, "nbf": nbf})}, ok: true},
		{name: "unsigned"},
		{name: "scheme unsigned", scheme: []string{"unsigned"}},
		{name: "unknown scheme", scheme: []string{"v2"}, jwt: []string{good}},
		{name: "two schemes", scheme: []string{"v1", "v1"}, jwt: []string{good}},
		{name: "no jwt", scheme: []string{"v1"}},
		{name: "two jwts", scheme: []string{"v1"}, jwt: []string{good, good}},
		{name: "other key", scheme: []string{"v1"}, jwt: []string{other.Sign(path, "", now, DefaultLeeway)}},
		{name: "other key claiming our kid", scheme: []string{"v1"}, jwt: []string{forge(other, hdr, map[string]any{"aud": path, "exp": exp, "nbf": nbf})}},
		{name: "other path", scheme: []string{"v1"}, jwt: []string{good}, path: "/discover"},
		{name: "expired", scheme: []string{"v1"}, jwt: []string{good}, at: now.Add(DefaultLeeway + time.Second)},
		{name: "not yet valid", scheme: []string{"v1"}, jwt: []string{good}, at: now.Add(-DefaultLeeway - time.Second)},
		{name: "tampered claims", scheme: []string{"v1"}, jwt: []string{parts[0] + "." + b64.EncodeToString([]byte(`{"aud":"`+path+`","exp":9999999999,"nbf":0}`)) + "." + parts[2]}},
		{name: "alg none", scheme: []string{"v1"}, jwt: []string{b64.EncodeToString([]byte(`{"alg":"none","kid":"`+k.KeyID()+`"}`)) + "." + parts[1] + "."}},
		{name: "alg HS256 over an Ed25519 signature", scheme: []string{"v1"}, jwt: []string{forge(k, jwtHeader{Alg: "HS256", Kid: k.KeyID()}, map[string]any{"aud": path, "exp": exp, "nbf": nbf})}},
		{name: "no exp", scheme: []string{"v1"}, jwt: []string{forge(k, hdr, map[string]any{"aud": path, "nbf": nbf})}},
		{name: "no nbf", scheme: []string{"v1"}, jwt: []string{forge(k, hdr, map[string]any{"aud": path, "exp": exp})}},
		{name: "malformed", scheme: []string{"v1"}, jwt: []string{"a.b"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tt.scheme {
				h.Add(SchemeHeader, v)
			}
			for _, v := range tt.jwt {
				h.Add(JWTHeader, v)
			}
			p, at := path, now
			if tt.path != "" {
				p = tt.path
			}
			if !tt.at.IsZero() {
				at = tt.at
			}
			err := Verify(keys, p, h, at)
			if tt.ok != (err == nil) || err != nil && !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("Verify = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestTransportSigns(t *testing.T) {
	k := newKey(t)
	keys, _ := ParseKeySet(k.KeyID())
	type seen struct {
		err error
		sub string
	}
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var c claims
		err := Verify(keys, r.URL.Path, r.Header, time.Now())
		if err == nil {
			parts := strings.Split(r.Header.Get(JWTHeader), ".")
			err = decodePart(parts[1], &c)
		}
		got <- seen{err, c.Sub}
	}))
	defer srv.Close()
	c := &http.Client{Transport: &Transport{Next: http.DefaultTransport, Key: k}}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/invoke/Counter/add", nil)
	req.Header.Set(serviceKeyHeader, "a%2Fb%20c")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if s := <-got; s.err != nil || s.sub != "a/b c" {
		t.Fatalf("server saw %v, sub %q; want a valid signature with sub \"a/b c\"", s.err, s.sub)
	}
	if req.Header.Get(JWTHeader) != "" {
		t.Fatal("the caller's request was modified")
	}
}

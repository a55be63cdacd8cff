package kafka_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"

	"github.com/resolute-run/resolute/runtime/kafka"
)

func TestParse(t *testing.T) {
	b := func(kv ...string) map[string]string {
		m := map[string]string{"bootstrap.servers": "k1:9092, k2"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, tt := range []struct {
		name  string
		props map[string]string
		check func(c kafka.Config) bool
		err   string // "" when accepted
		unsup bool   // the error is ErrUnsupported
	}{
		{name: "brokers only", props: b(), check: func(c kafka.Config) bool {
			return slices.Equal(c.Brokers, []string{"k1:9092", "k2"}) && c.Protocol == "plaintext" && !c.TLS() && !c.SASL() && !c.ReadUncommitted
		}},
		{name: "metadata.broker.list", props: map[string]string{"metadata.broker.list": "m:1"}, check: func(c kafka.Config) bool { return slices.Equal(c.Brokers, []string{"m:1"}) }},
		{name: "protocol prefixes", props: map[string]string{"bootstrap.servers": "PLAINTEXT://m:1,sasl_ssl://n:2"}, check: func(c kafka.Config) bool { return slices.Equal(c.Brokers, []string{"m:1", "n:2"}) }},
		{name: "bad prefix", props: map[string]string{"bootstrap.servers": "http://m:1"}, err: `"http://m:1": a broker's protocol prefix is plaintext`},
		{name: "SASL/SCRAM over TLS", props: b("security.protocol", "SASL_SSL", "sasl.mechanisms", "scram-sha-512", "sasl.username", "u", "sasl.password", "p",
			"ssl.ca.location", "/ca.pem", "ssl.certificate.location", "/c.pem", "ssl.key.location", "/k.pem", "client.id", "me", "ssl.endpoint.identification.algorithm", "none"),
			check: func(c kafka.Config) bool {
				return c.Protocol == "sasl_ssl" && c.TLS() && c.SASL() && c.Mechanism == "SCRAM-SHA-512" && c.Username == "u" && c.Password == "p" &&
					c.CAFile == "/ca.pem" && c.CertFile == "/c.pem" && c.KeyFile == "/k.pem" && c.ClientID == "me" && c.SkipHostname && !c.SkipVerify
			}},
		{name: "tuning and ignored", props: b("session.timeout.ms", "30000", "fetch.max.bytes", "1048576", "isolation.level", "read_uncommitted", "enable.auto.commit", "true",
			"auto.offset.reset", "smallest", "group.id", "g", "ssl.ca.location", "probe", "security.protocol", "ssl", "enable.ssl.certificate.verification", "false"),
			check: func(c kafka.Config) bool {
				return c.SessionTimeout == 30*time.Second && c.FetchMaxBytes == 1<<20 && c.ReadUncommitted && c.StartOffset == "earliest" && c.GroupID == "g" && c.CAFile == "" && c.SkipVerify
			}},
		{name: "no brokers", props: map[string]string{"client.id": "x"}, err: "needs its brokers"},
		{name: "two broker lists", props: b("metadata.broker.list", "other:1"), err: "differs from bootstrap.servers"},
		{name: "empty broker", props: map[string]string{"bootstrap.servers": "a:1,,b:2"}, err: "an empty broker address"},
		{name: "unknown property", props: b("sasl.kerberos.service.name", "kafka"), err: "property 'sasl.kerberos.service.name': not supported", unsup: true},
		{name: "GSSAPI", props: b("security.protocol", "sasl_plaintext", "sasl.mechanism", "GSSAPI"), err: "'sasl.mechanism' = 'GSSAPI': not supported", unsup: true},
		{name: "OAUTHBEARER", props: b("security.protocol", "sasl_ssl", "sasl.mechanism", "OAUTHBEARER"), err: "not supported", unsup: true},
		{name: "SASL without mechanism", props: b("security.protocol", "sasl_plaintext", "sasl.username", "u", "sasl.password", "p"), err: "GSSAPI, is not supported", unsup: true},
		{name: "SASL without password", props: b("security.protocol", "sasl_plaintext", "sasl.mechanism", "PLAIN", "sasl.username", "u"), err: "needs sasl.username and sasl.password"},
		{name: "SASL settings without SASL", props: b("sasl.username", "u"), err: "'sasl.username': set but security.protocol is plaintext"},
		{name: "TLS files without TLS", props: b("security.protocol", "sasl_plaintext", "sasl.mechanism", "PLAIN", "sasl.username", "u", "sasl.password", "p", "ssl.ca.location", "/ca"), err: "'ssl.ca.location': set but security.protocol is sasl_plaintext"},
		{name: "bad protocol", props: b("security.protocol", "tls"), err: "'security.protocol' = 'tls': want plaintext, ssl, sasl_plaintext or sasl_ssl"},
		{name: "bad mechanism", props: b("security.protocol", "sasl_ssl", "sasl.mechanism", "MD5"), err: "want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"},
		{name: "encrypted key", props: b("security.protocol", "ssl", "ssl.key.password", "x"), err: "encrypted private keys are not supported", unsup: true},
		{name: "certificate without key", props: b("security.protocol", "ssl", "ssl.certificate.location", "/c.pem"), err: "needs its key"},
		{name: "bad number", props: b("session.timeout.ms", "soon"), err: "'session.timeout.ms' = 'soon': want a positive number of milliseconds"},
		{name: "bad bytes", props: b("fetch.max.bytes", "4294967296"), err: "'fetch.max.bytes' = '4294967296'"},
		{name: "bad reset", props: b("auto.offset.reset", "error"), err: "want earliest or latest"},
		{name: "bad bool", props: b("security.protocol", "ssl", "enable.ssl.certificate.verification", "no"), err: "want true or false"},
		{name: "bad isolation", props: b("isolation.level", "serializable"), err: "want read_committed or read_uncommitted"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := kafka.Parse(tt.props)
			if tt.err == "" {
				if err != nil || !tt.check(c) {
					t.Fatalf("Parse: %+v, %v", c, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) || errors.Is(err, kafka.ErrUnsupported) != tt.unsup {
				t.Fatalf("Parse: %v (unsupported %v), want an error with %q (unsupported %v)", err, errors.Is(err, kafka.ErrUnsupported), tt.err, tt.unsup)
			}
		})
	}
}

// TestOpts: the options a client is made with carry the properties (read back from a franz-go
// client that is never used, so connects nowhere).
func TestOpts(t *testing.T) {
	c, err := kafka.Parse(map[string]string{"bootstrap.servers": "k1:9092,k2:9093", "client.id": "me", "security.protocol": "sasl_plaintext",
		"sasl.mechanism": "SCRAM-SHA-256", "sasl.username": "u", "sasl.password": "p", "fetch.wait.max.ms": "250", "client.rack": "r1"})
	if err != nil {
		t.Fatal(err)
	}
	opts, err := c.Opts()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	seeds, _ := cl.OptValue(kgo.SeedBrokers).([]string)
	mechs, _ := cl.OptValue(kgo.SASL).([]sasl.Mechanism)
	if !slices.Equal(seeds, []string{"k1:9092", "k2:9093"}) || cl.OptValue(kgo.ClientID) != "me" || cl.OptValue(kgo.FetchMaxWait) != 250*time.Millisecond ||
		cl.OptValue(kgo.Rack) != "r1" || cl.OptValue(kgo.FetchIsolationLevel) != int8(1) /* read_committed */ || len(mechs) != 1 || mechs[0].Name() != "SCRAM-SHA-256" ||
		cl.OptValue(kgo.DialTLSConfig) != (*tls.Config)(nil) {
		t.Errorf("seeds %v client id %v wait %v rack %v isolation %v sasl %v tls %v", seeds, cl.OptValue(kgo.ClientID), cl.OptValue(kgo.FetchMaxWait),
			cl.OptValue(kgo.Rack), cl.OptValue(kgo.FetchIsolationLevel), mechs, cl.OptValue(kgo.DialTLSConfig))
	}
}

// TestTLS: the TLS configuration made from ssl.* files completes a real handshake with a server
// that requires the client's certificate; the broker's name is checked unless
// ssl.endpoint.identification.algorithm=none, and the chain always is (unless certificate
// verification is off); missing or bad files are errors naming them.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := newCert(t, nil, nil, "test CA", true)
	other, _ := newCert(t, nil, nil, "another CA", true)
	server, serverKey := newCert(t, ca, caKey, "broker.test", false)
	client, clientKey := newCert(t, ca, caKey, "client", false)
	write := func(name string, blocks ...*pem.Block) string {
		var b []byte
		for _, bl := range blocks {
			b = append(b, pem.EncodeToMemory(bl)...)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caFile, otherFile := write("ca.pem", certBlock(ca)), write("other.pem", certBlock(other))
	certFile, keyFile := write("client.pem", certBlock(client)), write("client.key", keyBlock(t, clientKey))
	addr := tlsServer(t, server, serverKey, ca)
	props := func(kv ...string) map[string]string {
		m := map[string]string{"bootstrap.servers": addr, "security.protocol": "ssl", "ssl.ca.location": caFile,
			"ssl.certificate.location": certFile, "ssl.key.location": keyFile}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(m, kv[i])
			} else {
				m[kv[i]] = kv[i+1]
			}
		}
		return m
	}
	for _, tt := range []struct {
		name  string
		props map[string]string
		err   string // of Opts ("" when made), or "handshake" when the handshake must fail
	}{
		{"name not checked", props("ssl.endpoint.identification.algorithm", "none"), ""},
		{"name checked", props(), "handshake"},
		{"chain from another CA", props("ssl.endpoint.identification.algorithm", "none", "ssl.ca.location", otherFile), "handshake"},
		{"verification off", props("enable.ssl.certificate.verification", "false", "ssl.ca.location", otherFile), ""},
		{"no client certificate", props("ssl.endpoint.identification.algorithm", "none", "ssl.certificate.location", "", "ssl.key.location", ""), "handshake"},
		{"missing CA file", props("ssl.ca.location", filepath.Join(dir, "nope.pem")), "ssl.ca.location: open"},
		{"not a certificate", props("ssl.ca.location", keyFile), "no PEM certificate in " + keyFile},
		{"key of another certificate", props("ssl.certificate.location", write("server.pem", certBlock(server))), "ssl.certificate and ssl.key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := kafka.Parse(tt.props)
			if err != nil {
				t.Fatal(err)
			}
			opts, err := c.Opts()
			if tt.err != "" && tt.err != "handshake" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Opts: %v, want an error with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cl, err := kgo.NewClient(opts...)
			if err != nil {
				t.Fatal(err)
			}
			tc := cl.OptValue(kgo.DialTLSConfig).(*tls.Config).Clone()
			cl.Close()
			tc.ServerName = "127.0.0.1" // as franz-go sets it from the address dialed
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, tc)
			if err == nil {
				// TLS 1.3: the server's refusal of the client certificate arrives with the first read.
				_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
				_, err = conn.Read(make([]byte, 1))
				conn.Close()
				if err != nil && strings.Contains(err.Error(), "EOF") {
					err = nil // the server closed after a good handshake
				}
			}
			if (tt.err == "handshake") != (err != nil) {
				t.Fatalf("handshake: %v, want failure %v", err, tt.err == "handshake")
			}
		})
	}
}

// tlsServer accepts TLS connections requiring a client certificate from ca, completes each
// handshake and closes the connection.
func tlsServer(t *testing.T, cert *x509.Certificate, key *ecdsa.PrivateKey, ca *x509.Certificate) string {
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{cert.Raw}, PrivateKey: key}},
		ClientAuth:   tls.RequireAndVerifyClientCert, ClientCAs: pool,
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	return ln.Addr().String()
}

func newCert(t *testing.T, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, name string, isCA bool) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IsCA:        isCA, BasicConstraintsValid: true,
	}
	if !isCA {
		tmpl.DNSNames = []string{name}
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

func certBlock(c *x509.Certificate) *pem.Block { return &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw} }

func keyBlock(t *testing.T, k *ecdsa.PrivateKey) *pem.Block {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return &pem.Block{Type: "PRIVATE KEY", Bytes: der}
}

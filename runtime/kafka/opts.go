package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Opts returns the franz-go options of the cluster's client: brokers, client id, rack, TLS,
// SASL, fetch sizes and waits, isolation level, group timeouts. It reads the certificate and key
// files named; it connects nowhere. The consumer adds its group, topics and start offset.
func (c Config) Opts() ([]kgo.Opt, error) {
	opts := []kgo.Opt{kgo.SeedBrokers(c.Brokers...)}
	if c.ClientID != "" {
		opts = append(opts, kgo.ClientID(c.ClientID))
	}
	if c.Rack != "" {
		opts = append(opts, kgo.Rack(c.Rack))
	}
	if c.TLS() {
		tc, err := c.tlsConfig()
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	if c.SASL() {
		opts = append(opts, kgo.SASL(c.mechanism()))
	}
	level := kgo.ReadCommitted()
	if c.ReadUncommitted {
		level = kgo.ReadUncommitted()
	}
	opts = append(opts, kgo.FetchIsolationLevel(level))
	for _, d := range []struct {
		v   int64
		opt func() kgo.Opt
	}{
		{int64(c.SessionTimeout), func() kgo.Opt { return kgo.SessionTimeout(c.SessionTimeout) }},
		{int64(c.HeartbeatInterval), func() kgo.Opt { return kgo.HeartbeatInterval(c.HeartbeatInterval) }},
		{int64(c.FetchMaxWait), func() kgo.Opt { return kgo.FetchMaxWait(c.FetchMaxWait) }},
		{int64(c.DialTimeout), func() kgo.Opt { return kgo.DialTimeout(c.DialTimeout) }},
		{int64(c.MetadataMaxAge), func() kgo.Opt { return kgo.MetadataMaxAge(c.MetadataMaxAge) }},
		{int64(c.FetchMaxBytes), func() kgo.Opt { return kgo.FetchMaxBytes(c.FetchMaxBytes) }},
		{int64(c.FetchMinBytes), func() kgo.Opt { return kgo.FetchMinBytes(c.FetchMinBytes) }},
		{int64(c.FetchMaxPartitionBytes), func() kgo.Opt { return kgo.FetchMaxPartitionBytes(c.FetchMaxPartitionBytes) }},
	} {
		if d.v != 0 {
			opts = append(opts, d.opt())
		}
	}
	return opts, nil
}

// StartAt is the franz-go offset a subscription starting at start ("earliest" or "latest")
// resets to.
func StartAt(start string) kgo.Offset {
	if start == "earliest" {
		return kgo.NewOffset().AtStart()
	}
	return kgo.NewOffset().AtEnd()
}

func (c Config) mechanism() sasl.Mechanism {
	switch c.Mechanism {
	case ScramSHA256:
		return scram.Auth{User: c.Username, Pass: c.Password}.AsSha256Mechanism()
	case ScramSHA512:
		return scram.Auth{User: c.Username, Pass: c.Password}.AsSha512Mechanism()
	}
	return plain.Auth{User: c.Username, Pass: c.Password}.AsMechanism()
}

func (c Config) tlsConfig() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	ca, err := pemOf("ssl.ca.location", c.CAFile, c.CAPEM)
	if err != nil {
		return nil, err
	}
	if ca != nil {
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(ca) {
			return nil, fmt.Errorf("kafka: ssl.ca: no PEM certificate in %s", orInline(c.CAFile))
		}
	}
	cert, err := pemOf("ssl.certificate.location", c.CertFile, c.CertPEM)
	if err != nil {
		return nil, err
	}
	key, err := pemOf("ssl.key.location", c.KeyFile, c.KeyPEM)
	if err != nil {
		return nil, err
	}
	if cert != nil {
		pair, err := tls.X509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("kafka: ssl.certificate and ssl.key (%s, %s): %w", orInline(c.CertFile), orInline(c.KeyFile), err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	switch {
	case c.SkipVerify:
		tc.InsecureSkipVerify = true
	case c.SkipHostname:
		// Go verifies the chain and the name together: skip both, then verify the chain alone.
		tc.InsecureSkipVerify = true
		tc.VerifyConnection = verifyChain(tc.RootCAs)
	}
	return tc, nil
}

// verifyChain checks the peer's certificate chain against roots (the system's when nil),
// whatever name it is for.
func verifyChain(roots *x509.CertPool) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("kafka: the broker sent no certificate")
		}
		inter := x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter})
		return err
	}
}

func pemOf(prop, file, inline string) ([]byte, error) {
	if inline != "" {
		return []byte(inline), nil
	}
	if file == "" {
		return nil, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("kafka: %s: %w", prop, err)
	}
	return b, nil
}

func orInline(file string) string {
	if file == "" {
		return "inline PEM"
	}
	return file
}

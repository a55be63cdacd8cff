package kafka

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrUnsupported is matched (errors.Is) by every refusal of a property or value this client does
// not support.
var ErrUnsupported = errors.New("kafka: unsupported")

// PropertyError is a property Parse refuses.
type PropertyError struct {
	Property, Value string
	Reason          string
	unsupported     bool
}

func (e *PropertyError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("kafka: property '%s': %s", e.Property, e.Reason)
	}
	return fmt.Sprintf("kafka: property '%s' = '%s': %s", e.Property, e.Value, e.Reason)
}

// Is makes errors.Is(err, ErrUnsupported) true for properties and values not supported.
func (e *PropertyError) Is(target error) bool { return target == ErrUnsupported && e.unsupported }

func unsupported(prop, value, reason string) error {
	return &PropertyError{Property: prop, Value: value, Reason: reason, unsupported: true}
}

func invalid(prop, value, reason string) error {
	return &PropertyError{Property: prop, Value: value, Reason: reason}
}

// Security protocols, as librdkafka's security.protocol (lower case).
const (
	Plaintext     = "plaintext"
	SSL           = "ssl"
	SASLPlaintext = "sasl_plaintext"
	SASLSSL       = "sasl_ssl"
)

// SASL mechanisms supported.
const (
	Plain       = "PLAIN"
	ScramSHA256 = "SCRAM-SHA-256"
	ScramSHA512 = "SCRAM-SHA-512"
)

// Config is a cluster's client settings, read from its properties. Zero durations and sizes
// leave franz-go's defaults.
type Config struct {
	Brokers  []string
	ClientID string
	Rack     string
	// Protocol is one of Plaintext, SSL, SASLPlaintext, SASLSSL.
	Protocol string
	// TLS (SSL and SASLSSL): PEM files or inline PEM; no CA means the system's roots.
	CAFile, CertFile, KeyFile string
	CAPEM, CertPEM, KeyPEM    string
	// SkipVerify turns off certificate verification (enable.ssl.certificate.verification=false);
	// SkipHostname keeps the chain verified but not the broker's name
	// (ssl.endpoint.identification.algorithm=none).
	SkipVerify, SkipHostname bool
	// Mechanism is Plain, ScramSHA256 or ScramSHA512 (SASL protocols).
	Mechanism          string
	Username, Password string
	// GroupID is the cluster's default consumer group (a subscription's group.id wins).
	GroupID string
	// StartOffset is the cluster's default auto.offset.reset ("earliest", "latest", "" unset).
	StartOffset string
	// ReadUncommitted reads records of aborted and open transactions; librdkafka's default
	// (and so ours) is read_committed.
	ReadUncommitted bool

	SessionTimeout, HeartbeatInterval, FetchMaxWait, DialTimeout, MetadataMaxAge time.Duration
	FetchMaxBytes, FetchMinBytes, FetchMaxPartitionBytes                         int32
}

// TLS reports whether the protocol encrypts.
func (c Config) TLS() bool { return c.Protocol == SSL || c.Protocol == SASLSSL }

// SASL reports whether the protocol authenticates with SASL.
func (c Config) SASL() bool { return c.Protocol == SASLPlaintext || c.Protocol == SASLSSL }

// Ignored are properties accepted and ignored: the consumer stores its offsets in the
// partitions' state, not through the group's commits, and reports no end of partition.
var Ignored = []string{"enable.auto.commit", "enable.auto.offset.store", "enable.partition.eof", "auto.commit.interval.ms"}

// property is one supported property: how it sets the config.
type property struct {
	name string
	set  func(c *Config, name, value string) error
}

var properties = []property{
	{"bootstrap.servers", setBrokers},
	{"metadata.broker.list", setBrokers},
	{"client.id", func(c *Config, _, v string) error { c.ClientID = v; return nil }},
	{"client.rack", func(c *Config, _, v string) error { c.Rack = v; return nil }},
	{"group.id", func(c *Config, _, v string) error { c.GroupID = v; return nil }},
	{"security.protocol", setProtocol},
	{"sasl.mechanism", setMechanism},
	{"sasl.mechanisms", setMechanism},
	{"sasl.username", func(c *Config, _, v string) error { c.Username = v; return nil }},
	{"sasl.password", func(c *Config, _, v string) error { c.Password = v; return nil }},
	{"ssl.ca.location", func(c *Config, _, v string) error {
		if v != "probe" { // librdkafka's "probe": the system's roots, as no CA
			c.CAFile = v
		}
		return nil
	}},
	{"ssl.certificate.location", func(c *Config, _, v string) error { c.CertFile = v; return nil }},
	{"ssl.key.location", func(c *Config, _, v string) error { c.KeyFile = v; return nil }},
	{"ssl.ca.pem", func(c *Config, _, v string) error { c.CAPEM = v; return nil }},
	{"ssl.certificate.pem", func(c *Config, _, v string) error { c.CertPEM = v; return nil }},
	{"ssl.key.pem", func(c *Config, _, v string) error { c.KeyPEM = v; return nil }},
	{"ssl.key.password", func(_ *Config, _, v string) error {
		if v != "" {
			return unsupported("ssl.key.password", "", "encrypted private keys are not supported: give the key unencrypted (ssl.key.location or ssl.key.pem)")
		}
		return nil
	}},
	{"enable.ssl.certificate.verification", func(c *Config, _, v string) error {
		b, err := parseBool("enable.ssl.certificate.verification", v)
		c.SkipVerify = !b
		return err
	}},
	{"ssl.endpoint.identification.algorithm", func(c *Config, _, v string) error {
		switch strings.ToLower(v) {
		case "https":
			c.SkipHostname = false
		case "none":
			c.SkipHostname = true
		default:
			return invalid("ssl.endpoint.identification.algorithm", v, "want https or none")
		}
		return nil
	}},
	{"auto.offset.reset", func(c *Config, _, v string) error {
		o, ok := StartOffset(v)
		if !ok {
			return invalid("auto.offset.reset", v, "want earliest or latest (smallest, beginning, largest, end)")
		}
		c.StartOffset = o
		return nil
	}},
	{"isolation.level", func(c *Config, _, v string) error {
		switch v {
		case "read_committed":
			c.ReadUncommitted = false
		case "read_uncommitted":
			c.ReadUncommitted = true
		default:
			return invalid("isolation.level", v, "want read_committed or read_uncommitted")
		}
		return nil
	}},
	{"session.timeout.ms", millis(func(c *Config) *time.Duration { return &c.SessionTimeout })},
	{"heartbeat.interval.ms", millis(func(c *Config) *time.Duration { return &c.HeartbeatInterval })},
	{"fetch.wait.max.ms", millis(func(c *Config) *time.Duration { return &c.FetchMaxWait })},
	{"socket.connection.setup.timeout.ms", millis(func(c *Config) *time.Duration { return &c.DialTimeout })},
	{"metadata.max.age.ms", millis(func(c *Config) *time.Duration { return &c.MetadataMaxAge })},
	{"fetch.max.bytes", bytesOf(func(c *Config) *int32 { return &c.FetchMaxBytes })},
	{"fetch.min.bytes", bytesOf(func(c *Config) *int32 { return &c.FetchMinBytes })},
	{"max.partition.fetch.bytes", bytesOf(func(c *Config) *int32 { return &c.FetchMaxPartitionBytes })},
}

// Supported lists the properties Parse maps, then those it ignores.
func Supported() []string {
	out := make([]string, 0, len(properties)+len(Ignored))
	for _, p := range properties {
		out = append(out, p.name)
	}
	return append(out, Ignored...)
}

// StartOffset reads an auto.offset.reset value: "earliest" or "latest" (false: neither).
func StartOffset(v string) (string, bool) {
	switch v {
	case "earliest", "smallest", "beginning":
		return "earliest", true
	case "latest", "largest", "end":
		return "latest", true
	}
	return "", false
}

// Parse reads a cluster's properties. It does no IO: files named are read by Opts. The first
// refused property, in name order, is the error.
func Parse(props map[string]string) (Config, error) {
	c := Config{Protocol: Plaintext}
	names := make([]string, 0, len(props))
	for k := range props {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, name := range names {
		if slices.Contains(Ignored, name) {
			continue
		}
		i := slices.IndexFunc(properties, func(p property) bool { return p.name == name })
		if i < 0 {
			return Config{}, unsupported(name, "", "not supported by Resolute's Kafka client (see docs/kafka.md for the properties it takes)")
		}
		if err := properties[i].set(&c, name, props[name]); err != nil {
			return Config{}, err
		}
	}
	if err := c.check(props); err != nil {
		return Config{}, err
	}
	return c, nil
}

// check refuses combinations: no brokers, SASL settings without SASL, TLS files without TLS, a
// certificate without its key.
func (c Config) check(props map[string]string) error {
	a, b := props["bootstrap.servers"], props["metadata.broker.list"]
	switch {
	case a == "" && b == "":
		return invalid("bootstrap.servers", "", "the cluster needs its brokers (bootstrap.servers or metadata.broker.list)")
	case a != "" && b != "" && a != b:
		return invalid("metadata.broker.list", b, "differs from bootstrap.servers; give one of them")
	}
	if c.SASL() {
		if c.Mechanism == "" {
			return unsupported("sasl.mechanism", "", "required with security.protocol "+c.Protocol+" (librdkafka's default, GSSAPI, is not supported): PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
		}
		if c.Username == "" || c.Password == "" {
			return invalid("sasl.username", "", c.Mechanism+" needs sasl.username and sasl.password")
		}
	} else {
		for _, p := range []string{"sasl.mechanism", "sasl.mechanisms", "sasl.username", "sasl.password"} {
			if _, ok := props[p]; ok {
				return invalid(p, "", "set but security.protocol is "+c.Protocol+", which does not use SASL (sasl_plaintext or sasl_ssl does)")
			}
		}
	}
	tlsProps := []string{"ssl.ca.location", "ssl.certificate.location", "ssl.key.location", "ssl.ca.pem", "ssl.certificate.pem", "ssl.key.pem", "enable.ssl.certificate.verification", "ssl.endpoint.identification.algorithm"}
	if !c.TLS() {
		for _, p := range tlsProps {
			if _, ok := props[p]; ok {
				return invalid(p, "", "set but security.protocol is "+c.Protocol+", which does not use TLS (ssl or sasl_ssl does)")
			}
		}
	}
	switch {
	case c.CAFile != "" && c.CAPEM != "":
		return invalid("ssl.ca.pem", "", "give ssl.ca.location or ssl.ca.pem, not both")
	case (c.CertFile != "" || c.CertPEM != "") != (c.KeyFile != "" || c.KeyPEM != ""):
		return invalid("ssl.certificate.location", "", "a client certificate needs its key and a key its certificate (ssl.certificate.location/pem and ssl.key.location/pem)")
	case c.CertFile != "" && c.CertPEM != "", c.KeyFile != "" && c.KeyPEM != "":
		return invalid("ssl.certificate.pem", "", "give each of the certificate and the key once, as a file or as PEM")
	}
	return nil
}

func setBrokers(c *Config, name, v string) error {
	var brokers []string
	for _, b := range strings.Split(v, ",") {
		b = strings.TrimSpace(b)
		if proto, hostPort, ok := strings.Cut(b, "://"); ok { // librdkafka's proto://host:port
			if err := setProtocol(&Config{}, name, proto); err != nil {
				return invalid(name, v, fmt.Sprintf("%q: a broker's protocol prefix is plaintext, ssl, sasl_plaintext or sasl_ssl", b))
			}
			b = hostPort
		}
		if b == "" {
			return invalid(name, v, "an empty broker address")
		}
		brokers = append(brokers, b)
	}
	c.Brokers = brokers
	return nil
}

func setProtocol(c *Config, _, v string) error {
	p := strings.ToLower(v)
	switch p {
	case Plaintext, SSL, SASLPlaintext, SASLSSL:
		c.Protocol = p
		return nil
	}
	return invalid("security.protocol", v, "want plaintext, ssl, sasl_plaintext or sasl_ssl")
}

func setMechanism(c *Config, name, v string) error {
	m := strings.ToUpper(strings.TrimSpace(v))
	switch m {
	case Plain, ScramSHA256, ScramSHA512:
		c.Mechanism = m
		return nil
	case "GSSAPI", "OAUTHBEARER":
		return unsupported(name, v, "not supported: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
	}
	return invalid(name, v, "want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
}

func parseBool(prop, v string) (bool, error) {
	switch v {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, invalid(prop, v, "want true or false")
}

func millis(field func(*Config) *time.Duration) func(*Config, string, string) error {
	return func(c *Config, name, v string) error {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n <= 0 {
			return invalid(name, v, "want a positive number of milliseconds")
		}
		*field(c) = time.Duration(n) * time.Millisecond
		return nil
	}
}

func bytesOf(field func(*Config) *int32) func(*Config, string, string) error {
	return func(c *Config, name, v string) error {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n <= 0 {
			return invalid(name, v, "want a positive number of bytes (at most 2147483647)")
		}
		*field(c) = int32(n)
		return nil
	}
}

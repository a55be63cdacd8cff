package registry

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/ids"
)

var subscriptionPrefix = []byte("registry/u/")

func subscriptionKey(id ids.SubscriptionID) []byte {
	k := slices.Clip(subscriptionPrefix)
	for _, w := range []uint64{id.Hi, id.Lo} {
		for s := 56; s >= 0; s -= 8 {
			k = append(k, byte(w>>s))
		}
	}
	return k
}

// Subscription options, as POST /subscriptions takes them.
const (
	// OptionOffsetReset is where a subscription starts reading a partition without a stored
	// offset: earliest or latest (librdkafka's aliases smallest, beginning, largest, end too).
	OptionOffsetReset = "auto.offset.reset"
	// OptionGroupID and OptionClientID are the consumer group and client id (defaults: the
	// subscription id, and "resolute", as restate-server defaults them to the id and "restate").
	OptionGroupID  = "group.id"
	OptionClientID = "client.id"
	// OptionMaxInFlight is ours: the bound on the subscription's invocations in flight (made and
	// not finished); fetching pauses at it. DefaultMaxInFlight when absent.
	OptionMaxInFlight = "resolute.max.in.flight"
)

// DefaultMaxInFlight is a subscription's in-flight bound without OptionMaxInFlight.
const DefaultMaxInFlight = 1000

// MaxMaxInFlight is the largest OptionMaxInFlight accepted.
const MaxMaxInFlight = 1_000_000

// Where a subscription starts reading a partition it has no stored offset for.
const (
	StartEarliest = "earliest"
	StartLatest   = "latest"
)

// Subscription connects a Kafka topic to a handler: each record becomes an invocation of the
// sink. It holds what the consumer needs, resolved when the subscription was made.
type Subscription struct {
	ID ids.SubscriptionID `msgpack:"id"`
	// Cluster and Topic are the source, kafka://Cluster/Topic.
	Cluster string `msgpack:"c"`
	Topic   string `msgpack:"t"`
	// Service and Handler are the sink, service://Service/Handler, with their types when the
	// subscription was made: a Virtual Object (or Workflow) sink is keyed by the record's key.
	Service     string              `msgpack:"s"`
	Handler     string              `msgpack:"h"`
	ServiceType command.ServiceType `msgpack:"st"`
	HandlerType command.HandlerType `msgpack:"ht"`
	// Options are the options as GET /subscriptions shows them: those given, plus the defaults
	// of group.id and client.id.
	Options map[string]string `msgpack:"o"`
	// StartOffset is StartEarliest or StartLatest (default latest, as librdkafka's).
	StartOffset string `msgpack:"so"`
	// GroupID is the consumer group (subscription option, else the cluster's, else the id).
	GroupID string `msgpack:"g"`
	// MaxInFlight bounds the subscription's invocations in flight.
	MaxInFlight int `msgpack:"mif"`
	// CreatedAt is the proposer's clock, ms since the Unix epoch.
	CreatedAt int64 `msgpack:"ca"`
}

// Source is the subscription's source URI.
func (s Subscription) Source() string { return "kafka://" + s.Cluster + "/" + s.Topic }

// Sink is the subscription's sink URI.
func (s Subscription) Sink() string { return "service://" + s.Service + "/" + s.Handler }

// Keyed reports whether the sink is keyed (Virtual Object or Workflow): records go to the key
// of their Kafka key.
func (s Subscription) Keyed() bool { return s.ServiceType != command.Service }

// CreateSubscriptionCommand makes a subscription. The proposer stamps the id and the time; the
// state machine validates everything against the tables (source, sink, cluster, options).
type CreateSubscriptionCommand struct {
	ID      ids.SubscriptionID `msgpack:"id"`
	Now     int64              `msgpack:"now"`
	Source  string             `msgpack:"src"`
	Sink    string             `msgpack:"snk"`
	Options map[string]string  `msgpack:"o,omitempty"`
}

// DeleteSubscriptionCommand deletes a subscription.
type DeleteSubscriptionCommand struct {
	ID ids.SubscriptionID `msgpack:"id"`
}

// URIError is a source or sink that is not a URI at all (restate-server refuses those while
// decoding the request body: 422); the state machine never sees one.
type URIError struct {
	Field, Reason string
}

func (e *URIError) Error() string { return e.Field + ": " + e.Reason }

// parsedURI is scheme://authority/path as restate-server's http::Uri splits it.
type parsedURI struct{ scheme, authority, path, query string }

// display is the URI as restate-server prints it in messages (an empty path as "/").
func (u parsedURI) display() string {
	s := u.scheme + "://" + u.authority + cmp.Or(u.path, "/")
	if u.query != "" {
		s += "?" + u.query
	}
	return s
}

// CheckSubscriptionURI fails (*URIError) for a source or sink restate-server cannot parse as a
// URI (the proposer's early check; the state machine checks again).
func CheckSubscriptionURI(field, s string) error {
	_, err := parseURI(field, s)
	return err
}

func parseURI(field, s string) (parsedURI, error) {
	if i := strings.IndexFunc(s, badURIChar); i >= 0 {
		return parsedURI{}, &URIError{field, "invalid uri character"}
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || scheme == "" {
		return parsedURI{}, &URIError{field, "invalid format"}
	}
	rest, _, _ = strings.Cut(rest, "#")
	rest, query, _ := strings.Cut(rest, "?")
	authority, path := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		authority, path = rest[:i], rest[i:]
	}
	if authority == "" {
		return parsedURI{}, &URIError{field, "invalid format"}
	}
	return parsedURI{scheme: scheme, authority: authority, path: path, query: query}, nil // the scheme compared as given, as restate-server does
}

func badURIChar(r rune) bool {
	return r <= ' ' || r >= 0x7f || strings.ContainsRune("\"<>\\^`{|}", r)
}

func subscriptionError(msg string) Result { return reject("META0009", 400, msg) }

func applyCreateSubscription(b *pebble.Batch, c *CreateSubscriptionCommand) (Result, error) {
	src, err := parseURI("source", c.Source)
	if err != nil {
		return reject("", 422, err.Error()), nil
	}
	snk, err := parseURI("sink", c.Sink)
	if err != nil {
		return reject("", 422, err.Error()), nil
	}
	if src.scheme != "kafka" {
		return subscriptionError(fmt.Sprintf("invalid source URI '%s': must have a scheme segment, with supported schemes: [kafka].", src.display())), nil
	}
	topic := strings.TrimPrefix(src.path, "/")
	if why := badTopic(topic); why != "" || src.query != "" {
		return reject("", 400, fmt.Sprintf("invalid source URI '%s': must be kafka://CLUSTER/TOPIC: %s", src.display(), cmp.Or(why, "no query allowed"))), nil
	}
	if snk.scheme != "service" {
		return subscriptionError(fmt.Sprintf("invalid sink URI '%s': must have a scheme segment, with supported schemes: [service].", snk.display())), nil
	}
	svc, ok, err := getService(b, snk.authority)
	if err != nil {
		return Result{}, err
	}
	var h Handler
	if ok {
		h, ok = svc.Handler(strings.TrimPrefix(snk.path, "/"))
	}
	if !ok {
		return subscriptionError(fmt.Sprintf("invalid sink URI '%s': cannot find service/handler specified in the sink URI.", snk.display())), nil
	}
	kc, ok, err := getKafkaCluster(b, src.authority)
	if err != nil {
		return Result{}, err
	}
	if !ok {
		return unknownCluster(b, src.authority)
	}
	sub := Subscription{
		ID: c.ID, Cluster: kc.Name, Topic: topic, Service: svc.Name, Handler: h.Name,
		ServiceType: svc.Type, HandlerType: h.Type, CreatedAt: c.Now,
	}
	if why := sub.setOptions(c.Options, kc.Properties); why != "" {
		return reject("", 400, why), nil
	}
	if c.ID.IsZero() {
		return reject("", 500, "subscription without an id"), nil
	}
	if _, taken, err := getSubscription(b, c.ID); err != nil || taken {
		return reject("META0009", 409, fmt.Sprintf("subscription %s already exists", c.ID)), err
	}
	return Result{Outcome: Created, Subscription: &sub}, put(b, subscriptionKey(sub.ID), &sub)
}

// unknownCluster is restate-server's refusal, with the clusters listed as Rust's Debug prints a
// Vec<String>.
func unknownCluster(b *pebble.Batch, name string) (Result, error) {
	all, err := scanKafkaClusters(b)
	if err != nil {
		return Result{}, err
	}
	names := make([]string, len(all))
	for i, kc := range all {
		names[i] = strconv.Quote(kc.Name)
	}
	return reject("", 400, fmt.Sprintf("Kafka cluster '%s' not found. Available clusters: [%s]", name, strings.Join(names, ", "))), nil
}

// badTopic says why name is not a Kafka topic name ("" when it is).
func badTopic(name string) string {
	switch {
	case name == "":
		return "the topic is empty"
	case name == "." || name == "..":
		return fmt.Sprintf("the topic may not be %q", name)
	case len(name) > 249:
		return "the topic is longer than 249 characters"
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Sprintf("the topic %q has %q: topics are made of ASCII letters, digits, '.', '_' and '-'", name, r)
		}
	}
	return ""
}

// setOptions validates the given options and fills the subscription's settings and its options
// as shown; it returns why they are refused ("" when accepted).
func (s *Subscription) setOptions(given, cluster map[string]string) string {
	keys := make([]string, 0, len(given))
	for k := range given {
		keys = append(keys, k)
	}
	slices.Sort(keys) // the first bad option in a stable order
	for _, k := range keys {
		switch k {
		case OptionOffsetReset, OptionGroupID, OptionClientID, OptionMaxInFlight:
		default:
			return fmt.Sprintf("The request field 'options' is invalid. Reason: unknown option '%s' (accepted: %s, %s, %s, %s)", k, OptionOffsetReset, OptionGroupID, OptionClientID, OptionMaxInFlight)
		}
	}
	reset := cmp.Or(given[OptionOffsetReset], cluster[OptionOffsetReset], StartLatest)
	switch reset {
	case "earliest", "smallest", "beginning":
		s.StartOffset = StartEarliest
	case "latest", "largest", "end":
		s.StartOffset = StartLatest
	default:
		return fmt.Sprintf("The request field 'options' is invalid. Reason: %s '%s': want earliest or latest", OptionOffsetReset, reset)
	}
	s.MaxInFlight = DefaultMaxInFlight
	if v, ok := given[OptionMaxInFlight]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxMaxInFlight {
			return fmt.Sprintf("The request field 'options' is invalid. Reason: %s '%s': want a whole number from 1 to %d", OptionMaxInFlight, v, MaxMaxInFlight)
		}
		s.MaxInFlight = n
	}
	s.Options = make(map[string]string, len(given)+2)
	for k, v := range given {
		s.Options[k] = v
	}
	s.GroupID = cmp.Or(given[OptionGroupID], cluster[OptionGroupID], s.ID.String())
	s.Options[OptionGroupID] = s.GroupID
	if _, ok := cluster[OptionClientID]; !ok {
		s.Options[OptionClientID] = cmp.Or(given[OptionClientID], "resolute")
	}
	return ""
}

func applyDeleteSubscription(b *pebble.Batch, c *DeleteSubscriptionCommand) (Result, error) {
	sub, ok, err := getSubscription(b, c.ID)
	switch {
	case err != nil:
		return Result{}, err
	case !ok:
		return reject("", 404, fmt.Sprintf("not found in the schema registry: subscription with id '%s'", c.ID)), nil
	}
	if err := b.Delete(subscriptionKey(c.ID), nil); err != nil {
		return Result{}, fmt.Errorf("registry: delete subscription %s: %w", c.ID, err)
	}
	return Result{Outcome: Deleted, Subscription: &sub}, nil
}

func getSubscription(r pebble.Reader, id ids.SubscriptionID) (Subscription, bool, error) {
	v, closer, err := r.Get(subscriptionKey(id))
	if errors.Is(err, pebble.ErrNotFound) {
		return Subscription{}, false, nil
	}
	if err != nil {
		return Subscription{}, false, fmt.Errorf("registry: read subscription %s: %w", id, err)
	}
	defer closer.Close()
	var s Subscription
	if err := msgpack.Unmarshal(v, &s); err != nil {
		return Subscription{}, false, fmt.Errorf("registry: decode subscription %s: %w", id, err)
	}
	return s, true, nil
}

func scanSubscriptions(r pebble.Reader) ([]Subscription, error) {
	var out []Subscription
	err := scan(r, subscriptionPrefix, func(v []byte) error {
		var s Subscription
		if err := msgpack.Unmarshal(v, &s); err != nil {
			return fmt.Errorf("registry: decode subscription: %w", err)
		}
		out = append(out, s)
		return nil
	})
	return out, err // key order = id order = creation order
}

// subscriptionsOf returns the subscriptions reading from cluster, by id.
func subscriptionsOf(r pebble.Reader, cluster string) ([]Subscription, error) {
	all, err := scanSubscriptions(r)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(s Subscription) bool { return s.Cluster != cluster }), nil
}

func (c Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// CreateSubscription makes a subscription from source (kafka://CLUSTER/TOPIC), sink
// (service://SERVICE/HANDLER) and options; the id and time are stamped here. A refusal is a
// *RejectedError (422 for a source or sink that is not a URI, 400 for the rest).
func (c Client) CreateSubscription(ctx context.Context, source, sink string, options map[string]string) (Subscription, error) {
	var entropy [10]byte
	if _, err := io.ReadFull(cmp.Or[io.Reader](c.Rand, rand.Reader), entropy[:]); err != nil {
		return Subscription{}, fmt.Errorf("registry: subscription id entropy: %w", err)
	}
	now := c.now().UnixMilli()
	cmd := &CreateSubscriptionCommand{ID: ids.NewSubscriptionID(now, entropy), Now: now, Source: source, Sink: sink, Options: options}
	res, err := c.propose(ctx, Command{Kind: KindCreateSubscription, CreateSubscription: cmd}, "create subscription")
	if err != nil {
		return Subscription{}, err
	}
	if res.Subscription == nil {
		return Subscription{}, errors.New("registry: create subscription: result without the subscription")
	}
	return *res.Subscription, nil
}

// DeleteSubscription deletes a subscription; an unknown id is a *RejectedError with status 404.
func (c Client) DeleteSubscription(ctx context.Context, id ids.SubscriptionID) error {
	_, err := c.propose(ctx, Command{Kind: KindDeleteSubscription, DeleteSubscription: &DeleteSubscriptionCommand{ID: id}}, "delete subscription "+id.String())
	return err
}

// Subscriptions returns every subscription, oldest first.
func (v *View) Subscriptions() []Subscription { return v.subscriptions }

// Subscription returns a subscription by id.
func (v *View) Subscription(id ids.SubscriptionID) (Subscription, bool) {
	i, ok := slices.BinarySearchFunc(v.subscriptions, id, func(s Subscription, id ids.SubscriptionID) int { return s.ID.Compare(id) })
	if !ok {
		return Subscription{}, false
	}
	return v.subscriptions[i], true
}

// Subscriptions returns every subscription, oldest first.
func (r *Registry) Subscriptions() []Subscription { return r.View().Subscriptions() }

// Subscription returns a subscription by id.
func (r *Registry) Subscription(id ids.SubscriptionID) (Subscription, bool) {
	return r.View().Subscription(id)
}

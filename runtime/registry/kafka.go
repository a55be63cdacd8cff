package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cockroachdb/pebble/v2"
	"github.com/vmihailenco/msgpack/v5"
)

var kafkaClusterPrefix = []byte("registry/k/")

func kafkaClusterKey(name string) []byte { return append(slices.Clip(kafkaClusterPrefix), name...) }

// KafkaCluster is a named Kafka cluster subscriptions read from: librdkafka-style properties
// (bootstrap.servers or metadata.broker.list, security.protocol, sasl.*, ssl.*, …), as
// restate-server 1.7 keeps them. runtime/kafka turns the properties into franz-go options.
type KafkaCluster struct {
	Name string `msgpack:"n"`
	// Properties are kept as given (secrets too: the admin API redacts them when it answers).
	Properties map[string]string `msgpack:"p"`
	// CreatedAt is the proposer's clock, ms since the Unix epoch; 0 for a cluster from the
	// configuration file (restate-server shows those as created at the epoch).
	CreatedAt int64 `msgpack:"c"`
	// FromConfig marks a cluster recorded from a node's configuration file
	// ([[ingress.kafka-clusters]]): the admin API may not change or delete it.
	FromConfig bool `msgpack:"cf,omitempty"`
	// Shadows marks a cluster made through the admin API whose name the configuration file
	// recorded last also gives: the file's cluster is ignored, this one is used.
	Shadows bool `msgpack:"sh,omitempty"`
}

// KafkaClusterCommand creates (KindCreateKafkaCluster) or replaces the properties of
// (KindUpdateKafkaCluster) a cluster made through the admin API.
type KafkaClusterCommand struct {
	Cluster KafkaCluster `msgpack:"c"`
}

// DeleteKafkaClusterCommand deletes a cluster made through the admin API. Without Force, a
// cluster that subscriptions read from is not deleted (409 naming them); with Force they are
// left without their cluster, as restate-server's ?force=true.
type DeleteKafkaClusterCommand struct {
	Name  string `msgpack:"n"`
	Force bool   `msgpack:"f,omitempty"`
}

// SyncConfigKafkaClustersCommand records the clusters of a node's configuration file, proposed
// when the node starts. Each replaces the configuration cluster of its name; a cluster made
// through the admin API with the same name stays and wins (restate-server's precedence), noted
// in the result. Configuration clusters no longer in the file are deleted, except those
// subscriptions read from, which stay (noted in the result) until their subscriptions are gone
// and a node starts again.
type SyncConfigKafkaClustersCommand struct {
	Clusters []KafkaCluster `msgpack:"c"`
}

// HasBrokers reports whether properties name the brokers to bootstrap from, as restate-server
// requires.
func HasBrokers(properties map[string]string) bool {
	_, a := properties["bootstrap.servers"]
	_, b := properties["metadata.broker.list"]
	return a || b
}

func missingBrokers(name string) Result {
	return reject("", 400, fmt.Sprintf("kafka cluster '%s' properties must contain either 'bootstrap.servers' or 'metadata.broker.list'", name))
}

func applyCreateKafkaCluster(b *pebble.Batch, c *KafkaClusterCommand) (Result, error) {
	kc := c.Cluster
	if kc.Name == "" {
		return reject("", 400, "The request field 'name' is invalid. Reason: empty string"), nil
	}
	if !HasBrokers(kc.Properties) {
		return missingBrokers(kc.Name), nil
	}
	cur, ok, err := getKafkaCluster(b, kc.Name)
	switch {
	case err != nil:
		return Result{}, err
	case ok && cur.FromConfig:
		return reject("", 409, fmt.Sprintf("kafka cluster '%s' conflicts with static configuration. Cluster names in schema registry cannot override statically configured clusters.", kc.Name)), nil
	case ok:
		return reject("", 409, fmt.Sprintf("kafka cluster '%s' already exists in schema registry", kc.Name)), nil
	}
	kc.FromConfig, kc.Shadows = false, false
	return Result{Outcome: Created, KafkaCluster: &kc}, put(b, kafkaClusterKey(kc.Name), &kc)
}

func applyUpdateKafkaCluster(b *pebble.Batch, c *KafkaClusterCommand) (Result, error) {
	name := c.Cluster.Name
	if !HasBrokers(c.Cluster.Properties) {
		return missingBrokers(name), nil
	}
	kc, ok, err := getKafkaCluster(b, name)
	switch {
	case err != nil:
		return Result{}, err
	case !ok:
		return reject("", 404, fmt.Sprintf("not found in the schema registry: kafka cluster '%s'", name)), nil
	case kc.FromConfig:
		return staticCluster(name), nil
	}
	kc.Properties = c.Cluster.Properties
	return Result{Outcome: Modified, KafkaCluster: &kc}, put(b, kafkaClusterKey(name), &kc)
}

func staticCluster(name string) Result {
	return reject("", 409, fmt.Sprintf("kafka cluster '%s' cannot be updated, because it was defined in the restate configuration file. Update the configuration file directly, or remove the configuration file", name))
}

func applyDeleteKafkaCluster(b *pebble.Batch, c *DeleteKafkaClusterCommand) (Result, error) {
	kc, ok, err := getKafkaCluster(b, c.Name)
	switch {
	case err != nil:
		return Result{}, err
	case !ok:
		return reject("", 404, fmt.Sprintf("not found in the schema registry: kafka cluster named '%s'", c.Name)), nil
	case kc.FromConfig:
		return staticCluster(c.Name), nil
	}
	users, err := subscriptionsOf(b, c.Name)
	if err != nil {
		return Result{}, err
	}
	if len(users) > 0 && !c.Force {
		return reject("", 409, orphanMessage(c.Name, users)), nil
	}
	if err := b.Delete(kafkaClusterKey(c.Name), nil); err != nil {
		return Result{}, fmt.Errorf("registry: delete kafka cluster %q: %w", c.Name, err)
	}
	return Result{Outcome: Deleted, KafkaCluster: &kc, Notes: subscriptionIDs(users)}, nil
}

// orphanMessage is restate-server's refusal, naming every subscription (restate-server names
// the first it finds).
func orphanMessage(cluster string, users []Subscription) string {
	ids := subscriptionIDs(users)
	if len(ids) == 1 {
		return fmt.Sprintf("Removing the kafka cluster '%s' leads to subscription '%s' being orphan. Remove the subscription first, or use the 'force' flag.", cluster, ids[0])
	}
	return fmt.Sprintf("Removing the kafka cluster '%s' leads to subscriptions '%s' being orphan. Remove the subscriptions first, or use the 'force' flag.", cluster, strings.Join(ids, "', '"))
}

func subscriptionIDs(subs []Subscription) []string {
	out := make([]string, len(subs))
	for i, s := range subs {
		out[i] = s.ID.String()
	}
	return out
}

func applySyncConfigKafkaClusters(b *pebble.Batch, c *SyncConfigKafkaClustersCommand) (Result, error) {
	var notes []string
	inFile := map[string]bool{}
	for _, kc := range c.Clusters {
		if kc.Name == "" || !HasBrokers(kc.Properties) {
			return reject("", 400, fmt.Sprintf("configuration kafka cluster %q: needs a name and brokers", kc.Name)), nil
		}
		if inFile[kc.Name] {
			return reject("", 400, fmt.Sprintf("configuration kafka cluster %q: named twice", kc.Name)), nil
		}
		inFile[kc.Name] = true
		cur, ok, err := getKafkaCluster(b, kc.Name)
		if err != nil {
			return Result{}, err
		}
		if ok && !cur.FromConfig {
			notes = append(notes, fmt.Sprintf("kafka cluster '%s' of the configuration file is shadowed by the cluster of that name made through the admin API", kc.Name))
			if !cur.Shadows {
				cur.Shadows = true
				if err := put(b, kafkaClusterKey(cur.Name), &cur); err != nil {
					return Result{}, err
				}
			}
			continue
		}
		kc.CreatedAt, kc.FromConfig = 0, true
		if err := put(b, kafkaClusterKey(kc.Name), &kc); err != nil {
			return Result{}, err
		}
	}
	recorded, err := scanKafkaClusters(b)
	if err != nil {
		return Result{}, err
	}
	for _, kc := range recorded { // name order: deterministic
		if !kc.FromConfig && kc.Shadows && !inFile[kc.Name] {
			kc.Shadows = false
			if err := put(b, kafkaClusterKey(kc.Name), &kc); err != nil {
				return Result{}, err
			}
		}
		if !kc.FromConfig || inFile[kc.Name] {
			continue
		}
		users, err := subscriptionsOf(b, kc.Name)
		if err != nil {
			return Result{}, err
		}
		if len(users) > 0 {
			notes = append(notes, fmt.Sprintf("kafka cluster '%s' is no longer in the configuration file but stays while subscriptions read from it: %s", kc.Name, strings.Join(subscriptionIDs(users), ", ")))
			continue
		}
		if err := b.Delete(kafkaClusterKey(kc.Name), nil); err != nil {
			return Result{}, fmt.Errorf("registry: delete kafka cluster %q: %w", kc.Name, err)
		}
	}
	return Result{Outcome: Modified, Notes: notes}, nil
}

func getKafkaCluster(r pebble.Reader, name string) (KafkaCluster, bool, error) {
	v, closer, err := r.Get(kafkaClusterKey(name))
	if errors.Is(err, pebble.ErrNotFound) {
		return KafkaCluster{}, false, nil
	}
	if err != nil {
		return KafkaCluster{}, false, fmt.Errorf("registry: read kafka cluster %q: %w", name, err)
	}
	defer closer.Close()
	var kc KafkaCluster
	if err := msgpack.Unmarshal(v, &kc); err != nil {
		return KafkaCluster{}, false, fmt.Errorf("registry: decode kafka cluster %q: %w", name, err)
	}
	return kc, true, nil
}

func scanKafkaClusters(r pebble.Reader) ([]KafkaCluster, error) {
	var out []KafkaCluster
	err := scan(r, kafkaClusterPrefix, func(v []byte) error {
		var kc KafkaCluster
		if err := msgpack.Unmarshal(v, &kc); err != nil {
			return fmt.Errorf("registry: decode kafka cluster: %w", err)
		}
		out = append(out, kc)
		return nil
	})
	return out, err // key order = name order
}

// CreateKafkaCluster records a cluster made through the admin API (name and properties; the
// time is stamped here). A rejection (name taken, no brokers) is a *RejectedError.
func (c Client) CreateKafkaCluster(ctx context.Context, name string, properties map[string]string) (KafkaCluster, error) {
	kc := KafkaCluster{Name: name, Properties: properties, CreatedAt: c.now().UnixMilli()}
	res, err := c.propose(ctx, Command{Kind: KindCreateKafkaCluster, CreateKafkaCluster: &KafkaClusterCommand{Cluster: kc}}, "create kafka cluster "+name)
	return clusterOf(res, err, "create kafka cluster "+name)
}

// UpdateKafkaCluster replaces the properties of a cluster made through the admin API.
func (c Client) UpdateKafkaCluster(ctx context.Context, name string, properties map[string]string) (KafkaCluster, error) {
	kc := KafkaCluster{Name: name, Properties: properties}
	res, err := c.propose(ctx, Command{Kind: KindUpdateKafkaCluster, UpdateKafkaCluster: &KafkaClusterCommand{Cluster: kc}}, "update kafka cluster "+name)
	return clusterOf(res, err, "update kafka cluster "+name)
}

func clusterOf(res Result, err error, what string) (KafkaCluster, error) {
	if err != nil {
		return KafkaCluster{}, err
	}
	if res.KafkaCluster == nil {
		return KafkaCluster{}, fmt.Errorf("registry: %s: result without the cluster", what)
	}
	return *res.KafkaCluster, nil
}

// DeleteKafkaCluster deletes a cluster made through the admin API; see DeleteKafkaClusterCommand.
// It returns the ids of the subscriptions left without their cluster (only with force).
func (c Client) DeleteKafkaCluster(ctx context.Context, name string, force bool) ([]string, error) {
	res, err := c.propose(ctx, Command{Kind: KindDeleteKafkaCluster, DeleteKafkaCluster: &DeleteKafkaClusterCommand{Name: name, Force: force}}, "delete kafka cluster "+name)
	return res.Notes, err
}

// SyncConfigKafkaClusters records the clusters of this node's configuration file; see
// SyncConfigKafkaClustersCommand. It returns notes worth logging (shadowed or kept clusters).
func (c Client) SyncConfigKafkaClusters(ctx context.Context, clusters []KafkaCluster) ([]string, error) {
	res, err := c.propose(ctx, Command{Kind: KindSyncConfigKafkaClusters, SyncConfigKafkaClusters: &SyncConfigKafkaClustersCommand{Clusters: clusters}}, "record the configuration's kafka clusters")
	return res.Notes, err
}

// KafkaClusters returns every cluster, by name.
func (v *View) KafkaClusters() []KafkaCluster { return v.kafkaClusters }

// KafkaCluster returns the named cluster.
func (v *View) KafkaCluster(name string) (KafkaCluster, bool) {
	i, ok := slices.BinarySearchFunc(v.kafkaClusters, name, func(kc KafkaCluster, n string) int { return strings.Compare(kc.Name, n) })
	if !ok {
		return KafkaCluster{}, false
	}
	return v.kafkaClusters[i], true
}

// KafkaClusters returns every cluster, by name.
func (r *Registry) KafkaClusters() []KafkaCluster { return r.View().KafkaClusters() }

// KafkaCluster returns the named cluster.
func (r *Registry) KafkaCluster(name string) (KafkaCluster, bool) { return r.View().KafkaCluster(name) }

package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/resolute-run/resolute/runtime/ids"
	"github.com/resolute-run/resolute/runtime/kafka"
	"github.com/resolute-run/resolute/runtime/registry"
)

// KafkaView reads Kafka clusters and subscriptions (*registry.Registry).
type KafkaView interface {
	KafkaClusters() []registry.KafkaCluster
	KafkaCluster(name string) (registry.KafkaCluster, bool)
	Subscriptions() []registry.Subscription
	Subscription(id ids.SubscriptionID) (registry.Subscription, bool)
}

// KafkaChanges makes, changes and deletes them through the metadata shard (registry.Client).
type KafkaChanges interface {
	CreateKafkaCluster(ctx context.Context, name string, properties map[string]string) (registry.KafkaCluster, error)
	UpdateKafkaCluster(ctx context.Context, name string, properties map[string]string) (registry.KafkaCluster, error)
	DeleteKafkaCluster(ctx context.Context, name string, force bool) ([]string, error)
	CreateSubscription(ctx context.Context, source, sink string, options map[string]string) (registry.Subscription, error)
	DeleteSubscription(ctx context.Context, id ids.SubscriptionID) error
}

// handleKafka serves restate-server 1.7's Kafka cluster and subscription routes.
func (h *Handler) handleKafka() {
	h.handle("GET", "/kafka-clusters", h.listKafkaClusters)
	h.handle("POST", "/kafka-clusters", h.createKafkaCluster)
	h.handle("GET", "/kafka-clusters/{name}", h.getKafkaCluster)
	h.handle("PATCH", "/kafka-clusters/{name}", h.updateKafkaCluster)
	h.handle("DELETE", "/kafka-clusters/{name}", h.deleteKafkaCluster)
	h.handle("GET", "/subscriptions", h.listSubscriptions)
	h.handle("POST", "/subscriptions", h.createSubscription)
	h.handle("GET", "/subscriptions/{id}", h.getSubscription)
	h.handle("DELETE", "/subscriptions/{id}", h.deleteSubscription)
}

// kafkaClusterResponse is restate-server's SimpleKafkaClusterResponse and, with Subscriptions
// set, its KafkaClusterResponse.
type kafkaClusterResponse struct {
	Name          string                  `json:"name"`
	Properties    map[string]string       `json:"properties"`
	CreatedAt     string                  `json:"created_at"`
	Subscriptions *[]subscriptionResponse `json:"subscriptions,omitempty"`
	Info          []schemaInfo            `json:"info,omitempty"`
}

type schemaInfo struct {
	Message string `json:"message"`
}

// configClusterInfo is said of a cluster from the configuration file (restate-server says its
// configuration clusters are deprecated; ours are not).
const configClusterInfo = "This Kafka cluster was configured in the configuration file ([[ingress.kafka-clusters]]): change or remove it there, the admin API cannot."

// shadowingClusterInfo is said of a cluster made through the admin API whose name the
// configuration file gives too (restate-server says the same of its static configuration).
const shadowingClusterInfo = "A Kafka cluster with the same name is in the configuration file ([[ingress.kafka-clusters]]); this one, made through the admin API, is used: remove the file's."

type kafkaClustersResponse struct {
	Clusters []kafkaClusterResponse `json:"clusters"`
}

// kafkaClusterRequest is restate-server's CreateKafkaClusterRequest (and, without the name,
// its UpdateKafkaClusterRequest), read by kafkajson.go.
type kafkaClusterRequest struct {
	Name       json.RawMessage `json:"name"`
	Properties json.RawMessage `json:"properties"`
}

// decode returns the name (when withName) and the properties, or why they are refused.
func (b kafkaClusterRequest) decode(withName bool) (string, map[string]string, string) {
	var name *string
	var why string
	if withName {
		if name, why = stringField("name", b.Name); why == "" && name == nil {
			why = "missing field `name`"
		}
	}
	if why != "" {
		return "", nil, why
	}
	props, why := stringMapField("properties", b.Properties, false)
	if why == "" && props == nil {
		why = "missing field `properties`"
	}
	if name == nil {
		return "", props, why
	}
	return *name, props, why
}

func toKafkaClusterResponse(kc registry.KafkaCluster) kafkaClusterResponse {
	out := kafkaClusterResponse{Name: kc.Name, Properties: redacted(kc.Properties), CreatedAt: humanTimestamp(kc.CreatedAt)}
	switch {
	case kc.FromConfig:
		out.Info = []schemaInfo{{configClusterInfo}}
	case kc.Shadows:
		out.Info = []schemaInfo{{shadowingClusterInfo}}
	}
	return out
}

// humanTimestamp is a time as restate-server's humantime prints it: RFC 3339 in UTC, with nine
// fractional digits unless there are none.
func humanTimestamp(ms int64) string {
	t := time.UnixMilli(ms).UTC()
	if t.Nanosecond() == 0 {
		return t.Format("2006-01-02T15:04:05Z")
	}
	return t.Format("2006-01-02T15:04:05.000000000Z")
}

// redacted hides secrets as restate-server does (is_sensitive_kafka_property): passwords, secrets,
// passphrases, SASL usernames and JAAS/OAuth settings, token endpoints, private keys and key
// stores.
func redacted(props map[string]string) map[string]string {
	out := make(map[string]string, len(props))
	for k, v := range props {
		if sensitive(k) {
			v = "***"
		}
		out[k] = v
	}
	return out
}

func sensitive(key string) bool {
	k := strings.ToLower(key)
	for _, s := range []string{"password", "secret", "passphrase", "sasl.username", "sasl.jaas.config", "sasl.oauthbearer.config",
		"token.endpoint.url", "ssl.key.location", "ssl.key.pem", "keystore.location", "truststore.location", "sasl.oauthbearer.assertion.private.key"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

func (h *Handler) kafkaReady(w http.ResponseWriter, write bool) bool {
	if h.deps.KafkaView == nil || write && h.deps.KafkaChanges == nil {
		apiError(w, http.StatusServiceUnavailable, "", "Kafka clusters and subscriptions are not available on this server")
		return false
	}
	return true
}

func (h *Handler) listKafkaClusters(w http.ResponseWriter, _ *http.Request) {
	if !h.kafkaReady(w, false) {
		return
	}
	all := h.deps.KafkaView.KafkaClusters()
	out := kafkaClustersResponse{Clusters: make([]kafkaClusterResponse, 0, len(all))}
	for _, kc := range all {
		out.Clusters = append(out.Clusters, toKafkaClusterResponse(kc))
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *Handler) getKafkaCluster(w http.ResponseWriter, r *http.Request) {
	if !h.kafkaReady(w, false) {
		return
	}
	include, ok := boolQuery(w, r, "include_subscriptions")
	if !ok {
		return
	}
	name := r.PathValue("name")
	kc, ok := h.deps.KafkaView.KafkaCluster(name)
	if !ok {
		apiError(w, http.StatusNotFound, "", fmt.Sprintf("The requested Kafka cluster '%s' does not exist", name))
		return
	}
	out := toKafkaClusterResponse(kc)
	subs := []subscriptionResponse{}
	if include != nil && *include {
		for _, s := range h.deps.KafkaView.Subscriptions() {
			if s.Cluster == name {
				subs = append(subs, toSubscriptionResponse(s))
			}
		}
	}
	out.Subscriptions = &subs
	writeJSON(w, http.StatusOK, out)
}

// boolQuery reads an optional boolean query parameter as serde does (true or false).
func boolQuery(w http.ResponseWriter, r *http.Request, name string) (*bool, bool) {
	q := r.URL.Query()
	if !q.Has(name) {
		return nil, true
	}
	switch v := q.Get(name); v {
	case "true", "false":
		b := v == "true"
		return &b, true
	}
	textError(w, http.StatusBadRequest, fmt.Sprintf("Failed to deserialize query string: %s: provided string was not `true` or `false`", name))
	return nil, false
}

// clusterName checks a cluster name as restate-server parses it (a URI authority, here kept to
// a host name: letters, digits, '.', '-', '_'); where says which field is wrong. It answers the
// error itself: 422 from a body (as restate-server's decoding), 400 from the path.
func clusterName(w http.ResponseWriter, name, where string, status int) bool {
	reason := ""
	switch {
	case name == "":
		reason = "empty string"
	case strings.IndexFunc(name, func(r rune) bool { return r <= ' ' || r >= 0x7f || strings.ContainsRune("\"<>\\^`{|}/?#", r) }) >= 0:
		reason = "invalid uri character"
	case strings.IndexFunc(name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_')
	}) >= 0:
		apiError(w, http.StatusBadRequest, "", fmt.Sprintf("The request field '%s' is invalid. Reason: '%s' is not a host name: use letters, digits, '.', '-' and '_'", where, name))
		return false
	default:
		return true
	}
	if status == http.StatusUnprocessableEntity {
		textError(w, status, fmt.Sprintf("Failed to deserialize the JSON body into the target type: %s: %s", where, reason))
	} else {
		apiError(w, status, "", fmt.Sprintf("The request field '%s' is invalid. Reason: %s", where, reason))
	}
	return false
}

// checkProperties refuses properties our Kafka client cannot use (400 naming the property).
// Missing brokers are left to the state machine, which answers restate-server's words.
func checkProperties(w http.ResponseWriter, props map[string]string) bool {
	if !registry.HasBrokers(props) {
		return true
	}
	if _, err := kafka.Parse(props); err != nil {
		apiError(w, http.StatusBadRequest, "", "The request field 'properties' is invalid. Reason: "+err.Error())
		return false
	}
	return true
}

func (h *Handler) createKafkaCluster(w http.ResponseWriter, r *http.Request) {
	if !h.kafkaReady(w, true) {
		return
	}
	var body kafkaClusterRequest
	if !h.decodeBody(w, r, &body) {
		return
	}
	name, props, why := body.decode(true)
	if why != "" {
		textError(w, http.StatusUnprocessableEntity, deserializeError(why))
		return
	}
	if !clusterName(w, name, "name", http.StatusUnprocessableEntity) || !checkProperties(w, props) {
		return
	}
	kc, err := h.deps.KafkaChanges.CreateKafkaCluster(r.Context(), name, props)
	if err != nil {
		registryError(w, err, "Error when creating the Kafka cluster")
		return
	}
	w.Header().Set("Location", "kafka-clusters/"+kc.Name)
	writeJSON(w, http.StatusCreated, toKafkaClusterResponse(kc))
}

func (h *Handler) updateKafkaCluster(w http.ResponseWriter, r *http.Request) {
	if !h.kafkaReady(w, true) {
		return
	}
	name := r.PathValue("name")
	if !clusterName(w, name, "cluster_name", http.StatusBadRequest) {
		return
	}
	var body kafkaClusterRequest
	if !h.decodeBody(w, r, &body) {
		return
	}
	_, props, why := body.decode(false)
	if why != "" {
		textError(w, http.StatusUnprocessableEntity, deserializeError(why))
		return
	}
	if !checkProperties(w, props) {
		return
	}
	kc, err := h.deps.KafkaChanges.UpdateKafkaCluster(r.Context(), name, props)
	if err != nil {
		registryError(w, err, "Error when updating the Kafka cluster")
		return
	}
	writeJSON(w, http.StatusOK, toKafkaClusterResponse(kc))
}

func (h *Handler) deleteKafkaCluster(w http.ResponseWriter, r *http.Request) {
	if !h.kafkaReady(w, true) {
		return
	}
	name := r.PathValue("name")
	if !clusterName(w, name, "cluster_name", http.StatusBadRequest) {
		return
	}
	force, ok := boolQuery(w, r, "force")
	if !ok {
		return
	}
	if _, err := h.deps.KafkaChanges.DeleteKafkaCluster(r.Context(), name, force != nil && *force); err != nil {
		registryError(w, err, "Error when deleting the Kafka cluster")
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

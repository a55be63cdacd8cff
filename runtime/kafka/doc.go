// Package kafka owns the meaning of a Kafka cluster's librdkafka-style properties (the form
// restate-server and the admin API take them in, POST /kafka-clusters and
// [[ingress.kafka-clusters]]) for franz-go (github.com/twmb/franz-go), the client Resolute
// consumes with.
//
// Parse reads the properties into a Config without any IO, so the admin API can refuse a cluster
// it could not connect to with a clear error (an unsupported property, mechanism or protocol);
// Config.Opts turns it into []kgo.Opt, reading the certificate and key files then. Nothing here
// connects anywhere: a consumer adds its group and topics (kgo.ConsumerGroup,
// kgo.ConsumeTopics, Config.StartOffset) and creates the client.
//
// The mapping, property by property, is in docs/kafka.md. Every property not listed there is
// refused (ErrUnsupported): a property the client would silently ignore is a configuration the
// operator believes in and does not have.
//
//	cfg, err := kafka.Parse(cluster.Properties) // at the admin API: 400 on error
//	opts, err := cfg.Opts()                     // at the consumer
//	cl, err := kgo.NewClient(append(opts, kgo.ConsumerGroup(sub.GroupID), kgo.ConsumeTopics(sub.Topic))...)
package kafka

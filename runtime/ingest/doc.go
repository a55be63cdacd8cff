// Package ingest runs the Kafka consumers of subscriptions (issue 12): each record of a
// subscription's topic becomes an invocation of its sink, exactly once, in offset order per
// Kafka partition, with the number of the subscription's invocations in flight bounded.
//
// How a record becomes an invocation: the consumer proposes it as a command.Ingest to the home
// partition of its source (subscription, topic, Kafka partition; partition.Router.IngestHome).
// The state machine stores the source's position (the offset after the record) and sends the
// invocation through the outbox to its target's partition, in the same log entry. The stored
// position is the truth; the consumer group's committed offsets are only a hint where to start
// fetching: a record below the position is a Duplicate, and a consumer that reads from anywhere
// but the position is told the position (Stale) and seeks there. So across crashes, rebalances
// and lost proposals no record is skipped and none becomes two invocations.
//
// Ordering: one source's records are proposed one after another, and the outbox delivers them in
// order, so a Virtual Object key (the record's key) receives them in offset order and runs them
// one at a time; keys do not wait for each other (each has its own inbox). Records without a key
// to a Service spread over the partitions.
//
// Backpressure: a consumer holds at most Subscription.MaxInFlight invocations made and not ended
// (it attaches to each until it ends); at the bound it stops polling and pauses fetching its
// topic until one ends, so a backlog stays in Kafka: franz-go buffers at most one fetch per
// broker.
//
// Handlers get the record's value as input, and its metadata as headers, as restate-server
// passes them: kafka.offset, kafka.topic, kafka.partition, kafka.timestamp (ms),
// restate.subscription.id, kafka.key (URL-safe base64, when the record has a key), plus the
// record's own headers. With tracing on, each record gets an ingress_kafka span (a child of its
// traceparent header, if any), the parent of its invocation's span (tracing.StartKafka).
//
// Concurrency: a Consumer owns one goroutine polling and proposing, and one per invocation in
// flight (bounded); Close stops them all and closes the franz-go client. A Manager owns the
// consumers of the subscriptions in the registry, started and stopped as they come and go.
package ingest

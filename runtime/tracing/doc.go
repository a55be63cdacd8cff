// Package tracing exports OpenTelemetry spans of invocations over OTLP, as restate-server's
// "services" traces: a span per ingress request, per invocation, per attempt and per journaled
// call, one-way call, sleep and Run, linked across services through W3C trace context.
//
// What it owns: the exporter (OTLP over gRPC or HTTP, to the configured endpoint), the span
// names and attributes, and the ids that tie spans together across restarts. Spans are made at
// the edges only (the ingress, a Kafka subscription's consumer, the invoker, and the partition
// leader carrying out an invocation's end); the partition state machine never sees a Tracer.
// What the edges need to agree on travels through the log as data (command.Trace, stored with
// the invocation), and an invocation's own span id is a function of its id (SpanID), so an
// attempt made after a crash, on any node, finds its parent span without asking anyone.
//
// The tree of one request, when service A calls service B:
//
//	ingress A/run                       (child of the client's traceparent, if any; for a Kafka
//	                                    record: ingress_kafka A/run, child of its traceparent header)
//	└─ invocation A/run                 (span id = SpanID(A's invocation id))
//	   └─ invocation-attempt A/run      (its context goes to the deployment as traceparent)
//	      ├─ run step                   (RunCommand until its result is journaled)
//	      ├─ sleep                      (SleepCommand until journaled)
//	      └─ call B/work                (CallCommand until journaled)
//	         └─ invocation B/work
//	            └─ invocation-attempt B/work
//
// Off (a nil *Tracer, the default) every method returns at once and allocates nothing, so the
// invoker and the ingress call them unconditionally.
//
// Concurrency: a Tracer is safe for concurrent use; a Span belongs to the goroutine that started
// it until it ends.
package tracing

package tracing

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Config says where spans go. The zero value is off.
type Config struct {
	// Endpoint is the OTLP collector, as restate-server's tracing-endpoint: http://host:4317,
	// https://… or grpc://… for OTLP over gRPC; http+otlp://host:4318 or https+otlp://… for OTLP
	// over HTTP (protobuf; the path defaults to /v1/traces). Empty: tracing is off.
	Endpoint string
	// ServiceName is the resource's service.name (default "resolute").
	ServiceName string
	// InstanceID, if set, is the resource's service.instance.id (a node id).
	InstanceID string
}

// Tracer makes and exports spans. A nil *Tracer is off: every method is a no-op.
type Tracer struct {
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
}

// New starts the exporter for cfg.Endpoint; it returns nil (off) when the endpoint is empty.
// Nothing is dialled yet: an unreachable collector costs dropped spans and a log line, never a
// failed start.
func New(ctx context.Context, cfg Config) (*Tracer, error) {
	if cfg.Endpoint == "" {
		return nil, nil
	}
	exp, err := newExporter(ctx, cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	attrs := []attribute.KeyValue{attribute.String("service.name", cfg.ServiceName)}
	if cfg.ServiceName == "" {
		attrs[0] = attribute.String("service.name", "resolute")
	}
	if cfg.InstanceID != "" {
		attrs = append(attrs, attribute.String("service.instance.id", cfg.InstanceID))
	}
	return newTracer(sdktrace.NewBatchSpanProcessor(exp), attrs...), nil
}

// newTracer builds the provider around a span processor (the batching exporter; tests give
// an in-memory one).
func newTracer(sp sdktrace.SpanProcessor, attrs ...attribute.KeyValue) *Tracer {
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSpanProcessor(sp),
		sdktrace.WithResource(resource.NewSchemaless(attrs...)),
		sdktrace.WithIDGenerator(idGenerator{}),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())),
	)
	return &Tracer{provider: tp, tracer: tp.Tracer("services")}
}

// Close exports what is buffered and stops the exporter.
func (t *Tracer) Close(ctx context.Context) error {
	if t == nil {
		return nil
	}
	if err := t.provider.Shutdown(ctx); err != nil {
		return fmt.Errorf("tracing: shut down: %w", err)
	}
	return nil
}

// Enabled reports whether spans are made.
func (t *Tracer) Enabled() bool { return t != nil }

// CheckEndpoint reports whether an endpoint is one New accepts ("" is: tracing off).
func CheckEndpoint(endpoint string) error {
	if endpoint == "" {
		return nil
	}
	_, _, err := parseEndpoint(endpoint)
	return err
}

// An endpoint's transport: OTLP over gRPC or over HTTP, with or without TLS.
type transport uint8

const (
	overGRPC transport = iota
	overGRPCTLS
	overHTTP
	overHTTPTLS
)

// parseEndpoint maps the endpoint's scheme as restate-server does (its tracing-endpoint): the
// scheme's +-separated tokens in any order.
func parseEndpoint(endpoint string) (*url.URL, transport, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, 0, fmt.Errorf("tracing: endpoint %q: %w", endpoint, err)
	}
	if u.Host == "" {
		return nil, 0, fmt.Errorf("tracing: endpoint %q: no host (want e.g. http://localhost:4317)", endpoint)
	}
	tokens := strings.Split(strings.ToLower(u.Scheme), "+")
	slices.Sort(tokens)
	switch strings.Join(tokens, "+") {
	case "http", "grpc", "grpc+otlp":
		return u, overGRPC, nil
	case "https":
		return u, overGRPCTLS, nil
	case "http+otlp", "http+otlp+proto":
		return u, overHTTP, nil
	case "https+otlp", "https+otlp+proto":
		return u, overHTTPTLS, nil
	}
	return nil, 0, fmt.Errorf("tracing: endpoint %q: unknown scheme %q (http, https, grpc for OTLP/gRPC; http+otlp, https+otlp for OTLP/HTTP)", endpoint, u.Scheme)
}

func newExporter(ctx context.Context, endpoint string) (sdktrace.SpanExporter, error) {
	u, tr, err := parseEndpoint(endpoint)
	if err != nil {
		return nil, err
	}
	switch tr {
	case overGRPC:
		return otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(u.Host), otlptracegrpc.WithInsecure())
	case overGRPCTLS:
		return otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(u.Host))
	case overHTTP:
		return otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(u.Host), otlptracehttp.WithInsecure(), otlptracehttp.WithURLPath(tracesPath(u)))
	}
	return otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(u.Host), otlptracehttp.WithURLPath(tracesPath(u)))
}

func tracesPath(u *url.URL) string {
	if u.Path == "" || u.Path == "/" {
		return "/v1/traces"
	}
	return u.Path
}

// Span is a span being recorded; the zero Span (tracing off) does nothing.
type Span struct{ s trace.Span }

// End ends the span.
func (s Span) End() {
	if s.s != nil {
		s.s.End()
	}
}

// Fail ends the span with an error status and message.
func (s Span) Fail(msg string) {
	if s.s != nil {
		s.s.SetStatus(codes.Error, msg)
		s.s.End()
	}
}

// Context is the span's context (invalid for the zero Span).
func (s Span) Context() trace.SpanContext {
	if s.s == nil {
		return trace.SpanContext{}
	}
	return s.s.SpanContext()
}

// Command resolute-test-services serves Restate's test-services contract (restatedev/e2e
// sdk-tests contracts, as restatedev/sdk-go test-services and the TypeScript
// restate-e2e-services implement it) with Resolute's Go SDK, so that Restate's own scenarios
// (tests/e2e) run against our SDK as they run against the official ones.
//
// As the official test services: h2c on PORT (default 9080), the services named in SERVICES
// (comma-separated; empty, unset or "*": all of them), GET /health answering 200, request
// identity keys in E2E_REQUEST_SIGNING (comma-separated), the log level in RESTATE_LOGGING
// (error, warn, info, debug, trace).
package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"

	"github.com/resolute-run/resolute/sdk"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "resolute-test-services:", err)
		os.Exit(1)
	}
}

func run() error {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel(os.Getenv("RESTATE_LOGGING"))}))
	slog.SetDefault(logger)
	defs, err := registry.selected(os.Getenv("SERVICES"))
	if err != nil {
		return err
	}
	ep := sdk.NewEndpoint().Bind(defs...).WithLogger(logger)
	if keys := os.Getenv("E2E_REQUEST_SIGNING"); keys != "" {
		ep = ep.WithIdentityV1(strings.Split(keys, ",")...)
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "9080"
	}
	l, err := net.Listen("tcp", ":"+port)
	if err != nil {
		return fmt.Errorf("listen on port %s: %w", port, err)
	}
	logger.Info("serving the test services", "addr", l.Addr().String(), "services", len(defs))
	srv := &http.Server{Handler: h2c.NewHandler(ep, &http2.Server{}), ReadHeaderTimeout: 10 * time.Second}
	return srv.Serve(l)
}

// logLevel reads RESTATE_LOGGING as the official Go test services do (default: info).
func logLevel(s string) slog.Level {
	switch strings.ToLower(s) {
	case "error":
		return slog.LevelError
	case "warn":
		return slog.LevelWarn
	case "debug", "trace":
		return slog.LevelDebug
	}
	return slog.LevelInfo
}

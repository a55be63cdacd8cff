package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/resolute-run/resolute/runtime/kafka"
	"github.com/resolute-run/resolute/runtime/registry"
)

// recordKafkaClusters records the configuration file's Kafka clusters (Config.KafkaClusters) in
// the metadata shard, as registry.SyncConfigKafkaClustersCommand says: nil records nothing (no
// configuration file), an empty list drops the configuration clusters no subscription reads
// from. A cluster our Kafka client cannot use stops the start. It retries until ctx ends, as the
// command may be proposed again.
func (s *Server) recordKafkaClusters(ctx context.Context) error {
	if s.cfg.KafkaClusters == nil {
		return nil
	}
	for _, kc := range s.cfg.KafkaClusters {
		if _, err := kafka.Parse(kc.Properties); err != nil {
			return fmt.Errorf("server: kafka cluster %q of the configuration: %w", kc.Name, err)
		}
	}
	for backoff := 100 * time.Millisecond; ; backoff = min(2*backoff, 2*time.Second) {
		tryCtx, cancel := context.WithTimeout(ctx, metadataTryTimeout)
		notes, err := s.registryClient().SyncConfigKafkaClusters(tryCtx, s.cfg.KafkaClusters)
		cancel()
		if err == nil {
			for _, n := range notes {
				slog.Warn(n)
			}
			return nil
		}
		var rej *registry.RejectedError
		if errors.As(err, &rej) {
			return fmt.Errorf("server: record the configuration's kafka clusters: %w", err)
		}
		slog.Warn("record the configuration's kafka clusters in the metadata shard, retrying", "err", err)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return fmt.Errorf("server: record the configuration's kafka clusters: %w (last: %v)", ctx.Err(), err)
		}
	}
}

package remote

import (
	"context"
	"log/slog"
	"os"
	"strings"

	"github.com/asynkron/protoactor-go/actor"
)

// quietLogger keeps protoactor's logs to warnings and errors (at INFO it logs every connection),
// less the errors its writers log when this node closes its own connections.
func quietLogger(*actor.ActorSystem) *slog.Logger {
	return slog.New(quietHandler{slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})})
}

type quietHandler struct{ slog.Handler }

func (h quietHandler) Handle(ctx context.Context, r slog.Record) error {
	own := false
	r.Attrs(func(a slog.Attr) bool {
		s := a.Value.String()
		own = own || strings.Contains(s, "the client connection is closing") || strings.Contains(s, "transport is closing")
		return !own
	})
	if own {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h quietHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return quietHandler{h.Handler.WithAttrs(attrs)}
}

func (h quietHandler) WithGroup(name string) slog.Handler {
	return quietHandler{h.Handler.WithGroup(name)}
}

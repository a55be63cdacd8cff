package registry

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/resolute-run/resolute/runtime/command"
	"github.com/resolute-run/resolute/runtime/discovery"
	"github.com/resolute-run/resolute/runtime/ids"
)

// ErrConflict is matched (errors.Is) by registrations rejected because they conflict with what is
// registered (HTTP 409).
var ErrConflict = errors.New("registry: conflict")

// RejectedError is returned by Client.Register when the state machine rejected the command.
type RejectedError struct{ Rejection }

func (e *RejectedError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("[%s] %s", e.Code, e.Message)
	}
	return e.Message
}

// Is makes errors.Is(err, ErrConflict) true for 409 rejections.
func (e *RejectedError) Is(target error) bool { return target == ErrConflict && e.Status == 409 }

// RegisterRequest is a registration as the admin API sees it: a discovered manifest and the
// connection settings.
type RegisterRequest struct {
	URI               string // any form NormalizeURI accepts
	AdditionalHeaders map[string]string
	UseHTTP11         bool
	Force             bool
	DryRun            bool
	Manifest          discovery.Manifest
}

// RegisterResult is what a registration did.
type RegisterResult struct {
	Outcome    Outcome
	Deployment Deployment
}

// Client proposes registry commands through the metadata shard.
type Client struct {
	// Propose appends data to the metadata shard's log and returns the Apply result.
	Propose func(ctx context.Context, data []byte) ([]byte, error)
	// Now is the clock stamped into commands; time.Now when nil.
	Now func() time.Time
	// Rand is the entropy source of new deployment ids; crypto/rand when nil.
	Rand io.Reader
}

// Register registers a deployment. A rejected registration returns a *RejectedError (wrapping
// ErrConflict for 409s) together with the result.
func (c Client) Register(ctx context.Context, req RegisterRequest) (RegisterResult, error) {
	cmd, err := c.registerCommand(req)
	if err != nil {
		return RegisterResult{}, err
	}
	data, err := EncodeCommand(Command{Kind: KindRegister, Register: cmd})
	if err != nil {
		return RegisterResult{}, err
	}
	out, err := c.Propose(ctx, data)
	if err != nil {
		return RegisterResult{}, fmt.Errorf("registry: propose registration of %s: %w", cmd.Deployment.URI, err)
	}
	res, err := DecodeResult(out)
	if err != nil {
		return RegisterResult{}, err
	}
	if res.Outcome == Rejected {
		if res.Error == nil {
			return RegisterResult{}, fmt.Errorf("registry: rejected result without a reason")
		}
		return RegisterResult{Outcome: Rejected}, &RejectedError{*res.Error}
	}
	return RegisterResult{Outcome: res.Outcome, Deployment: res.Deployment}, nil
}

func (c Client) registerCommand(req RegisterRequest) (*RegisterCommand, error) {
	uri, err := discovery.NormalizeURI(req.URI)
	if err != nil {
		return nil, err
	}
	svcs, err := ServicesFromManifest(req.Manifest)
	if err != nil {
		return nil, err
	}
	var entropy [16]byte
	r := c.Rand
	if r == nil {
		r = rand.Reader
	}
	if _, err := io.ReadFull(r, entropy[:]); err != nil {
		return nil, fmt.Errorf("registry: deployment id entropy: %w", err)
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	m := req.Manifest
	return &RegisterCommand{
		NewID: ids.NewDeploymentID(entropy),
		Now:   now().UnixMilli(),
		Deployment: Deployment{
			URI: uri, ProtocolMode: string(m.ProtocolMode),
			MinProtocolVersion: m.MinProtocolVersion, MaxProtocolVersion: m.MaxProtocolVersion,
			UseHTTP11: req.UseHTTP11, AdditionalHeaders: headerList(req.AdditionalHeaders), SDKVersion: m.SDKVersion,
		},
		Services: svcs,
		Force:    req.Force,
		DryRun:   req.DryRun,
	}, nil
}

func headerList(m map[string]string) []Header {
	out := make([]Header, 0, len(m))
	for k, v := range m {
		out = append(out, Header{Name: k, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ServicesFromManifest converts a validated manifest to service definitions (sorted, with the
// manifest's defaults applied).
func ServicesFromManifest(m discovery.Manifest) ([]Service, error) {
	out := make([]Service, 0, len(m.Services))
	for _, ms := range m.Services {
		s := Service{Name: ms.Name, Options: options(ms.Options, nil)}
		switch ms.Ty {
		case discovery.PlainService:
			s.Type = command.Service
		case discovery.VirtualObject:
			s.Type = command.VirtualObject
		case discovery.Workflow:
			s.Type = command.Workflow
		default:
			return nil, fmt.Errorf("registry: service %q: bad type %q", ms.Name, ms.Ty)
		}
		for _, mh := range ms.Handlers {
			h, err := handler(ms.Ty, mh)
			if err != nil {
				return nil, fmt.Errorf("registry: service %q: %w", ms.Name, err)
			}
			s.Handlers = append(s.Handlers, h)
		}
		out = append(out, s)
	}
	return normalizeServices(out), nil
}

func handler(st discovery.ServiceType, mh discovery.Handler) (Handler, error) {
	t, ok := mh.EffectiveType(st)
	if !ok {
		return Handler{}, fmt.Errorf("handler %q: bad type %q", mh.Name, mh.Ty)
	}
	h := Handler{Name: mh.Name, Options: options(mh.Options, mh.WorkflowCompletionRetention)}
	switch t {
	case discovery.Exclusive:
		h.Type = command.Exclusive
	case discovery.Shared:
		h.Type = command.Shared
	case discovery.WorkflowHandler:
		h.Type = command.WorkflowHandler
	}
	h.Input = Input{ContentType: "*/*"}
	if in := mh.Input; in != nil {
		h.Input = Input{Required: in.Required, JSONSchema: in.JSONSchema}
		if in.ContentType != nil {
			h.Input.ContentType = *in.ContentType
		}
	}
	h.Output = Output{ContentType: "application/json"}
	if out := mh.Output; out != nil {
		h.Output = Output{SetContentTypeIfEmpty: out.SetContentTypeIfEmpty, JSONSchema: out.JSONSchema}
		if out.ContentType != nil {
			h.Output.ContentType = *out.ContentType
		}
	}
	return h, nil
}

func options(o discovery.Options, wcr *int64) Options {
	return Options{
		Documentation: o.Documentation, Metadata: o.Metadata,
		InactivityTimeout: o.InactivityTimeout, AbortTimeout: o.AbortTimeout,
		JournalRetention: o.JournalRetention, IdempotencyRetention: o.IdempotencyRetention,
		WorkflowCompletionRetention: wcr, EnableLazyState: o.EnableLazyState,
		IngressPrivate:             o.IngressPrivate != nil && *o.IngressPrivate,
		RetryPolicyInitialInterval: o.RetryPolicyInitialInterval, RetryPolicyMaxInterval: o.RetryPolicyMaxInterval,
		RetryPolicyMaxAttempts: o.RetryPolicyMaxAttempts, RetryPolicyExponentiationFactor: o.RetryPolicyExponentiationFactor,
		RetryPolicyOnMaxAttempts: o.RetryPolicyOnMaxAttempts,
	}
}

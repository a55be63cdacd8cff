package registry

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/resolute-run/resolute/runtime/ids"
)

var (
	deploymentPrefix = []byte("registry/d/")
	servicePrefix    = []byte("registry/s/")
)

func deploymentKey(id ids.DeploymentID) []byte {
	return append(slices.Clip(deploymentPrefix), id[:]...)
}
func serviceKey(name string) []byte { return append(slices.Clip(servicePrefix), name...) }

// Registry is the metadata shard's state machine and its read view.
//
// Apply and Committed are called by one goroutine (the shard's apply loop); the read methods are
// safe from any goroutine and never block: they read an immutable View swapped in by Committed.
type Registry struct {
	db   *pebble.DB
	view atomic.Pointer[View]
	// local serialises ProposeLocal calls, which play the role of the shard's apply loop.
	local sync.Mutex
}

// New returns the registry over db, with its view rebuilt from db.
func New(db *pebble.DB) (*Registry, error) {
	r := &Registry{db: db}
	if err := r.Refresh(); err != nil {
		return nil, err
	}
	return r, nil
}

// Refresh rebuilds the view from the DB.
func (r *Registry) Refresh() error {
	v, err := loadView(r.db)
	if err != nil {
		return err
	}
	r.view.Store(v)
	return nil
}

// Committed rebuilds the view after a batch (or a snapshot) was committed. The metadata is small,
// so it is reloaded whole. A read failure here is a storage failure: it panics.
func (r *Registry) Committed() {
	if err := r.Refresh(); err != nil {
		panic(fmt.Sprintf("registry: rebuild view after commit: %v", err))
	}
}

// Apply applies one encoded Command into batch and returns the encoded Result. A malformed or
// rejected command yields a Rejected result, never an error; errors are storage failures.
func (r *Registry) Apply(batch *pebble.Batch, data []byte) ([]byte, error) {
	var res Result
	c, err := DecodeCommand(data)
	if err != nil {
		res = reject("", 400, err.Error())
	} else if res, err = applyCommand(batch, c); err != nil {
		return nil, err
	}
	out, err := encodeResult(res)
	if err != nil {
		return nil, fmt.Errorf("registry: encode result: %w", err)
	}
	return out, nil
}

// ProposeLocal applies data as a one-entry batch straight into the DB and commits it, without Raft:
// a Client.Propose for tests and single-process tools. Never mix it with a Raft shard that applies
// into the same DB.
func (r *Registry) ProposeLocal(_ context.Context, data []byte) ([]byte, error) {
	r.local.Lock()
	defer r.local.Unlock()
	b := r.db.NewIndexedBatch()
	defer b.Close()
	res, err := r.Apply(b, data)
	if err != nil {
		return nil, err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return nil, fmt.Errorf("registry: commit: %w", err)
	}
	r.Committed()
	return res, nil
}

func applyCommand(b *pebble.Batch, c Command) (Result, error) {
	switch c.Kind {
	case KindModifyService:
		return applyModifyService(b, c.ModifyService)
	case KindDeleteDeployment:
		return applyDeleteDeployment(b, c.DeleteDeployment)
	case KindUpdateDeployment:
		return applyUpdateDeployment(b, c.UpdateDeployment)
	case KindPublishNode:
		return applyPublishNode(b, c.PublishNode)
	case KindRecordJoin:
		return applyRecordJoin(b, c.RecordJoin)
	case KindCreateKafkaCluster:
		return applyCreateKafkaCluster(b, c.CreateKafkaCluster)
	case KindUpdateKafkaCluster:
		return applyUpdateKafkaCluster(b, c.UpdateKafkaCluster)
	case KindDeleteKafkaCluster:
		return applyDeleteKafkaCluster(b, c.DeleteKafkaCluster)
	case KindSyncConfigKafkaClusters:
		return applySyncConfigKafkaClusters(b, c.SyncConfigKafkaClusters)
	case KindCreateSubscription:
		return applyCreateSubscription(b, c.CreateSubscription)
	case KindDeleteSubscription:
		return applyDeleteSubscription(b, c.DeleteSubscription)
	}
	return applyRegister(b, c.Register)
}

func reject(code string, status int, msg string) Result {
	return Result{Outcome: Rejected, Error: &Rejection{Code: code, Status: status, Message: msg}}
}

func applyRegister(b *pebble.Batch, c *RegisterCommand) (Result, error) {
	svcs := normalizeServices(c.Services)
	deps, err := scanDeployments(b)
	if err != nil {
		return Result{}, err
	}
	var existing *Deployment
	for i := range deps {
		if deps[i].URI == c.Deployment.URI {
			existing = &deps[i]
		}
	}
	if existing != nil && sameDeployment(*existing, c.Deployment, svcs) {
		return Result{Outcome: Unchanged, Deployment: *existing}, nil
	}
	if existing != nil && !c.Force {
		return reject("META0004", 409, fmt.Sprintf(
			"the deployment %s at %s is already registered with different services or settings; re-register with \"force\": true to replace it (in-flight invocations may fail)",
			existing.ID, existing.URI)), nil
	}
	current := make([]*Service, len(svcs))
	for i, s := range svcs {
		cur, ok, err := getService(b, s.Name)
		if err != nil {
			return Result{}, err
		}
		if ok {
			current[i] = &cur
			if cur.Type != s.Type && !c.Force {
				return reject("META0006", 409, fmt.Sprintf(
					"the service %q changes type from %s to %s; re-register with \"force\": true to allow it", s.Name, typeName(cur.Type), typeName(s.Type))), nil
			}
		}
	}
	dep := c.Deployment
	dep.ID, dep.CreatedAt, dep.AdditionalHeaders = c.NewID, c.Now, normalizeHeaders(dep.AdditionalHeaders)
	outcome := Created
	if existing != nil {
		dep.ID, dep.CreatedAt, outcome = existing.ID, existing.CreatedAt, Overwritten
	} else if slices.ContainsFunc(deps, func(d Deployment) bool { return d.ID == c.NewID }) {
		return reject("", 500, fmt.Sprintf("deployment id %s is already taken; retry the registration", c.NewID)), nil
	}
	for i := range svcs {
		svcs[i].DeploymentID, svcs[i].Revision = dep.ID, 1
		if cur := current[i]; cur != nil {
			svcs[i].Revision = cur.Revision + 1
			if cur.DeploymentID == dep.ID && sameService(*cur, svcs[i]) {
				svcs[i].Revision = cur.Revision
			}
		}
	}
	dep.Services = svcs
	if c.DryRun {
		return Result{Outcome: outcome, Deployment: dep}, nil
	}
	if err := writeRegistration(b, dep, existing); err != nil {
		return Result{}, err
	}
	return Result{Outcome: outcome, Deployment: dep}, nil
}

func writeRegistration(b *pebble.Batch, dep Deployment, replaced *Deployment) error {
	if err := put(b, deploymentKey(dep.ID), &dep); err != nil {
		return err
	}
	for i := range dep.Services {
		if err := put(b, serviceKey(dep.Services[i].Name), &dep.Services[i]); err != nil {
			return err
		}
	}
	if replaced == nil {
		return nil
	}
	// Services the replaced deployment exposed and the new definition drops disappear, unless a
	// newer deployment already took them over.
	for _, old := range replaced.Services {
		if _, still := slices.BinarySearchFunc(dep.Services, old.Name, byName); still {
			continue
		}
		cur, ok, err := getService(b, old.Name)
		if err != nil {
			return err
		}
		if ok && cur.DeploymentID == dep.ID {
			if err := b.Delete(serviceKey(old.Name), nil); err != nil {
				return fmt.Errorf("registry: delete service %q: %w", old.Name, err)
			}
		}
	}
	return nil
}

func byName(s Service, name string) int { return strings.Compare(s.Name, name) }

// sameDeployment reports whether a registration repeats an existing deployment exactly.
func sameDeployment(d, req Deployment, svcs []Service) bool {
	if d.ProtocolMode != req.ProtocolMode || d.MinProtocolVersion != req.MinProtocolVersion ||
		d.MaxProtocolVersion != req.MaxProtocolVersion || d.UseHTTP11 != req.UseHTTP11 ||
		!slices.Equal(d.AdditionalHeaders, normalizeHeaders(req.AdditionalHeaders)) || len(d.Services) != len(svcs) {
		return false
	}
	for i := range svcs {
		if !sameService(d.Services[i], svcs[i]) {
			return false
		}
	}
	return true
}

// sameService compares definitions, ignoring where and at which revision they were registered.
func sameService(a, b Service) bool {
	a.DeploymentID, a.Revision = ids.DeploymentID{}, 0
	b.DeploymentID, b.Revision = ids.DeploymentID{}, 0
	return reflect.DeepEqual(normalizeService(a), normalizeService(b))
}

// normalizeServices returns sorted, canonical copies (empty slices and maps as nil), so that
// equal definitions compare and encode equal.
func normalizeServices(in []Service) []Service {
	out := make([]Service, len(in))
	for i := range in {
		out[i] = normalizeService(in[i])
	}
	slices.SortFunc(out, func(a, b Service) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func normalizeService(s Service) Service {
	hs := make([]Handler, len(s.Handlers))
	for i, h := range s.Handlers {
		h.Options = normalizeOptions(h.Options)
		if len(h.Input.JSONSchema) == 0 {
			h.Input.JSONSchema = nil
		}
		if len(h.Output.JSONSchema) == 0 {
			h.Output.JSONSchema = nil
		}
		hs[i] = h
	}
	slices.SortFunc(hs, func(a, b Handler) int { return strings.Compare(a.Name, b.Name) })
	if len(hs) == 0 {
		hs = nil
	}
	s.Handlers, s.Options = hs, normalizeOptions(s.Options)
	return s
}

func normalizeOptions(o Options) Options {
	if len(o.Metadata) == 0 {
		o.Metadata = nil
	}
	return o
}

func normalizeHeaders(h []Header) []Header {
	if len(h) == 0 {
		return nil
	}
	out := slices.Clone(h)
	slices.SortStableFunc(out, func(a, b Header) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

func put(w pebble.Writer, key []byte, v any) error {
	data, err := encode(v)
	if err != nil {
		return fmt.Errorf("registry: encode %q: %w", key, err)
	}
	if err := w.Set(key, data, nil); err != nil {
		return fmt.Errorf("registry: write %q: %w", key, err)
	}
	return nil
}

func getService(r pebble.Reader, name string) (Service, bool, error) {
	v, closer, err := r.Get(serviceKey(name))
	if errors.Is(err, pebble.ErrNotFound) {
		return Service{}, false, nil
	}
	if err != nil {
		return Service{}, false, fmt.Errorf("registry: read service %q: %w", name, err)
	}
	defer closer.Close()
	var s Service
	if err := msgpack.Unmarshal(v, &s); err != nil {
		return Service{}, false, fmt.Errorf("registry: decode service %q: %w", name, err)
	}
	return s, true, nil
}

func scanDeployments(r pebble.Reader) ([]Deployment, error) {
	var out []Deployment
	err := scan(r, deploymentPrefix, func(v []byte) error {
		var d Deployment
		if err := msgpack.Unmarshal(v, &d); err != nil {
			return fmt.Errorf("registry: decode deployment: %w", err)
		}
		out = append(out, d)
		return nil
	})
	return out, err
}

func scanServices(r pebble.Reader) ([]Service, error) {
	var out []Service
	err := scan(r, servicePrefix, func(v []byte) error {
		var s Service
		if err := msgpack.Unmarshal(v, &s); err != nil {
			return fmt.Errorf("registry: decode service: %w", err)
		}
		out = append(out, s)
		return nil
	})
	return out, err
}

func scan(r pebble.Reader, prefix []byte, fn func(value []byte) error) error {
	upper := slices.Clone(prefix)
	upper[len(upper)-1]++
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: upper})
	if err != nil {
		return fmt.Errorf("registry: iterate %q: %w", prefix, err)
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		if err := fn(it.Value()); err != nil {
			return err
		}
	}
	return it.Error()
}

package registry

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/resolute-run/resolute/runtime/ids"
)

// FormatVersion is the command and result format this code writes.
const FormatVersion = 1

// ErrUnknownVersion is returned when a command or result was written by a newer format.
var ErrUnknownVersion = errors.New("registry: unknown format version")

// Kind says which command a Command holds. Values are part of the log format: never renumber.
type Kind uint8

// Command kinds.
const (
	KindRegister         Kind = 1
	KindModifyService    Kind = 2
	KindDeleteDeployment Kind = 3
	KindUpdateDeployment Kind = 4
	KindPublishNode      Kind = 5
	KindRecordJoin       Kind = 6
	// Kafka clusters and subscriptions (kafka.go, subscriptions.go).
	KindCreateKafkaCluster      Kind = 7
	KindUpdateKafkaCluster      Kind = 8
	KindDeleteKafkaCluster      Kind = 9
	KindSyncConfigKafkaClusters Kind = 10
	KindCreateSubscription      Kind = 11
	KindDeleteSubscription      Kind = 12
)

// Command is one entry of the metadata shard's log. Exactly the field matching Kind is set.
type Command struct {
	Version          uint8                    `msgpack:"v"`
	Kind             Kind                     `msgpack:"k"`
	Register         *RegisterCommand         `msgpack:"r,omitempty"`
	ModifyService    *ModifyServiceCommand    `msgpack:"ms,omitempty"`
	DeleteDeployment *DeleteDeploymentCommand `msgpack:"dd,omitempty"`
	UpdateDeployment *UpdateDeploymentCommand `msgpack:"ud,omitempty"`
	PublishNode      *PublishNodeCommand      `msgpack:"pn,omitempty"`
	RecordJoin       *RecordJoinCommand       `msgpack:"rj,omitempty"`

	CreateKafkaCluster      *KafkaClusterCommand            `msgpack:"ckc,omitempty"`
	UpdateKafkaCluster      *KafkaClusterCommand            `msgpack:"ukc,omitempty"`
	DeleteKafkaCluster      *DeleteKafkaClusterCommand      `msgpack:"dkc,omitempty"`
	SyncConfigKafkaClusters *SyncConfigKafkaClustersCommand `msgpack:"skc,omitempty"`
	CreateSubscription      *CreateSubscriptionCommand      `msgpack:"csu,omitempty"`
	DeleteSubscription      *DeleteSubscriptionCommand      `msgpack:"dsu,omitempty"`
}

// wellFormed reports whether exactly the field matching Kind is set.
func (c Command) wellFormed() bool {
	set := []bool{c.Register != nil, c.ModifyService != nil, c.DeleteDeployment != nil, c.UpdateDeployment != nil, c.PublishNode != nil, c.RecordJoin != nil,
		c.CreateKafkaCluster != nil, c.UpdateKafkaCluster != nil, c.DeleteKafkaCluster != nil, c.SyncConfigKafkaClusters != nil,
		c.CreateSubscription != nil, c.DeleteSubscription != nil}
	n := 0
	for _, ok := range set {
		if ok {
			n++
		}
	}
	return n == 1 && c.Kind >= KindRegister && int(c.Kind) <= len(set) && set[c.Kind-1]
}

// RegisterCommand registers a deployment. Everything non-deterministic (the new id, the time) is
// stamped by the proposer.
type RegisterCommand struct {
	// NewID is the id the deployment gets if a new one is created.
	NewID ids.DeploymentID `msgpack:"id"`
	// Now is the proposer's clock, ms since the Unix epoch.
	Now int64 `msgpack:"now"`
	// Deployment carries the URI (normalised), protocol facts, headers and SDK version; its ID,
	// CreatedAt and Services are ignored.
	Deployment Deployment `msgpack:"d"`
	// Services are the discovered definitions (DeploymentID and Revision ignored).
	Services []Service `msgpack:"s"`
	Force    bool      `msgpack:"f,omitempty"`
	DryRun   bool      `msgpack:"dr,omitempty"`
}

// Outcome is what a registration did.
type Outcome uint8

// Outcomes. Values are part of the result format.
const (
	// Rejected: nothing changed; Result.Error says why.
	Rejected Outcome = 0
	// Created: a new deployment (HTTP 201).
	Created Outcome = 1
	// Unchanged: the same deployment was already registered (HTTP 200).
	Unchanged Outcome = 2
	// Overwritten: an existing deployment's services were replaced (force; HTTP 200).
	Overwritten Outcome = 3
	// Modified: a service's settings or a deployment's address changed (HTTP 200).
	Modified Outcome = 4
	// Deleted: a deployment was removed with the services it was the latest for (HTTP 202).
	Deleted Outcome = 5
)

// Result is the result of a command, returned to the proposer.
type Result struct {
	Version    uint8      `msgpack:"v"`
	Outcome    Outcome    `msgpack:"o"`
	Deployment Deployment `msgpack:"d"`
	// Service is the modified service (KindModifyService).
	Service *Service `msgpack:"sv,omitempty"`
	// Join is the join record that stands (KindRecordJoin).
	Join *Join `msgpack:"j,omitempty"`
	// KafkaCluster and Subscription are the cluster or subscription made, changed or deleted.
	KafkaCluster *KafkaCluster `msgpack:"kc,omitempty"`
	Subscription *Subscription `msgpack:"su,omitempty"`
	// Notes are what a command did worth telling (subscriptions left without their cluster,
	// configuration clusters shadowed or kept).
	Notes []string   `msgpack:"nt,omitempty"`
	Error *Rejection `msgpack:"e,omitempty"`
}

// Rejection says why a command was rejected.
type Rejection struct {
	// Code is a Restate error code (META0004, META0006…).
	Code string `msgpack:"c"`
	// Status is the HTTP status the admin API answers with (409 for conflicts).
	Status  int    `msgpack:"s"`
	Message string `msgpack:"m"`
}

// encode marshals v with sorted map keys, so equal values always give equal bytes.
func encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.SetSortMapKeys(true)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// EncodeCommand encodes a command with the current format version.
func EncodeCommand(c Command) ([]byte, error) {
	c.Version = FormatVersion
	b, err := encode(&c)
	if err != nil {
		return nil, fmt.Errorf("registry: encode command: %w", err)
	}
	return b, nil
}

// DecodeCommand decodes and validates a command.
func DecodeCommand(data []byte) (Command, error) {
	var c Command
	if err := msgpack.Unmarshal(data, &c); err != nil {
		return Command{}, fmt.Errorf("registry: decode command: %w", err)
	}
	if c.Version == 0 || c.Version > FormatVersion {
		return Command{}, fmt.Errorf("%w: command version %d", ErrUnknownVersion, c.Version)
	}
	if !c.wellFormed() {
		return Command{}, fmt.Errorf("registry: decode command: kind %d does not match its fields", c.Kind)
	}
	return c, nil
}

// DecodeResult decodes a command result.
func DecodeResult(data []byte) (Result, error) {
	var r Result
	if err := msgpack.Unmarshal(data, &r); err != nil {
		return Result{}, fmt.Errorf("registry: decode result: %w", err)
	}
	if r.Version == 0 || r.Version > FormatVersion {
		return Result{}, fmt.Errorf("%w: result version %d", ErrUnknownVersion, r.Version)
	}
	return r, nil
}

func encodeResult(r Result) ([]byte, error) {
	r.Version = FormatVersion
	return encode(&r)
}

package partition

import (
	"testing"

	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/protobuf/proto"

	"github.com/resolute-run/resolute/actors/partition/pb"
)

// TestControlMessagesCrossNodes: every control message of the partition's actors goes through
// protoactor remote's protobuf serializer, as a message to an actor on another node does, and
// arrives equal.
func TestControlMessagesCrossNodes(t *testing.T) {
	msgs := []proto.Message{
		&pb.LeaderChanged{IsLeader: true},
		&pb.LeaderReady{Epoch: 4},
		&pb.RetryLeader{},
		&pb.RecheckAttempt{InvocationId: "inv_1aBcD"},
		&pb.Crash{},
		&pb.PartFailed{Part: "timers", Reason: "boom"},
		&pb.SpawnPartition{Partition: 7},
		&pb.Respawn{Partition: 3},
	}
	for _, m := range msgs {
		data, typeName, err := remote.Serialize(m, 0)
		if err != nil {
			t.Fatalf("serialize %T: %v", m, err)
		}
		back, err := remote.Deserialize(data, typeName, 0)
		if err != nil {
			t.Fatalf("deserialize %T (%s): %v", m, typeName, err)
		}
		if got, ok := back.(proto.Message); !ok || !proto.Equal(got, m) {
			t.Errorf("%T came back as %T %v", m, back, back)
		}
	}
}

package statemachine

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/resolute-run/resolute/runtime/protocol"
	"github.com/resolute-run/resolute/runtime/protocol/pb"
)

// TestRandomSeed: from V6 on the seed is StartMessage.random_seed, whatever the id; V5 has no
// random_seed, so the seed is derived from the id as the shared core derives it with its
// sha2_random_seed feature (restatedev/sdk-shared-core src/vm/transitions/journal.rs
// compute_random_seed: SHA-256 of StartMessage.id, first 8 bytes big-endian).
func TestRandomSeed(t *testing.T) {
	idA, idB := bytes.Repeat([]byte{7}, 24), bytes.Repeat([]byte{8}, 24)
	sha := func(id []byte) uint64 {
		sum := sha256.Sum256(id)
		return binary.BigEndian.Uint64(sum[:8])
	}
	tests := []struct {
		version protocol.Version
		id      []byte
		sent    uint64 // StartMessage.random_seed
		want    uint64
	}{
		{protocol.V5, idA, 99, sha(idA)},
		{protocol.V5, idB, 99, sha(idB)},
		{protocol.V6, idA, 99, 99},
		{protocol.V6, idB, 99, 99},
		{protocol.V7, idA, 1 << 63, 1 << 63},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("V%d/id%x/seed%d", tt.version, tt.id[0], tt.sent), func(t *testing.T) {
			m := New(tt.version)
			for _, msg := range []proto.Message{
				&pb.StartMessage{Id: tt.id, DebugId: "inv_1test", KnownEntries: 1, RandomSeed: tt.sent},
				&pb.InputCommandMessage{},
			} {
				f, err := protocol.EncodeMessage(msg)
				if err != nil {
					t.Fatal(err)
				}
				if err := m.Receive(f); err != nil {
					t.Fatal(err)
				}
			}
			in, err := m.Input()
			if err != nil {
				t.Fatal(err)
			}
			if in.RandomSeed != tt.want {
				t.Errorf("seed %d, want %d", in.RandomSeed, tt.want)
			}
		})
	}
	if sha(idA) == sha(idB) {
		t.Error("V5: two ids give the same seed")
	}
}

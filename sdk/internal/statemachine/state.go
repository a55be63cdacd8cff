package statemachine

import (
	"slices"

	"github.com/resolute-run/resolute/runtime/protocol/pb"
)

// eagerState is the SDK's local view of the object's state (PROTOCOL.md 2.8): filled from
// StartMessage.state_map and kept current by the handler's own Set/Clear/ClearAll. When partial,
// a key absent from values is unknown and must be read lazily.
type eagerState struct {
	values  map[string][]byte // nil value = known to be absent
	partial bool
}

func newEagerState(entries []*pb.StartMessage_StateEntry, partial bool) eagerState {
	s := eagerState{values: make(map[string][]byte, len(entries)), partial: partial}
	for _, e := range entries {
		v := e.Value
		if v == nil {
			v = []byte{} // present but empty
		}
		s.values[string(e.Key)] = v
	}
	return s
}

// get reports the value, whether it is present, and whether the view knows the answer at all.
func (s *eagerState) get(key string) (value []byte, present, known bool) {
	v, ok := s.values[key]
	switch {
	case ok:
		return v, v != nil, true
	case s.partial:
		return nil, false, false
	default:
		return nil, false, true
	}
}

func (s *eagerState) set(key string, v []byte) {
	if v == nil {
		v = []byte{}
	}
	s.values[key] = v
}

func (s *eagerState) clear(key string) { s.values[key] = nil }

func (s *eagerState) clearAll() {
	s.values = make(map[string][]byte)
	s.partial = false
}

// keys returns the sorted present keys, or false when the view is partial.
func (s *eagerState) keys() ([]string, bool) {
	if s.partial {
		return nil, false
	}
	var keys []string
	for k, v := range s.values {
		if v != nil {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys, true
}

package main

import "testing"

// TestKafkaRuns: the counts the harness judges a kafka case by: distinct record numbers in a
// range and the handler's returns for them, numbers outside the range not counted.
func TestKafkaRuns(t *testing.T) {
	var k kafkaRuns
	for _, n := range []int{0, 1, 1, 5, 9, 9, 9, 20} {
		k.add(n)
	}
	for _, tc := range []struct {
		from, to       int
		distinct, runs int64
	}{
		{0, 10, 4, 7},
		{1, 2, 1, 2},
		{2, 5, 0, 0},
		{9, 100, 2, 4},
		{100, 200, 0, 0},
	} {
		d, r := k.count(tc.from, tc.to)
		if d != tc.distinct || r != tc.runs {
			t.Errorf("count(%d, %d) = %d distinct, %d runs; want %d, %d", tc.from, tc.to, d, r, tc.distinct, tc.runs)
		}
	}
	k.clear()
	if d, r := k.count(0, 100); d != 0 || r != 0 {
		t.Errorf("after clear: %d distinct, %d runs", d, r)
	}
}

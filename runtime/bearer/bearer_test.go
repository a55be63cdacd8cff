package bearer

import (
	"errors"
	"testing"
)

func TestNewRefusesEmptyTokens(t *testing.T) {
	if _, err := New("r", nil); !errors.Is(err, ErrNoTokens) {
		t.Errorf("no tokens: %v", err)
	}
	for _, toks := range [][]string{{""}, {"ok", "  "}} {
		if _, err := New("r", toks); err == nil {
			t.Errorf("tokens %q accepted", toks)
		}
	}
}

func TestValid(t *testing.T) {
	g, err := New("r", []string{"first", "second"})
	if err != nil {
		t.Fatal(err)
	}
	for tok, want := range map[string]bool{"first": true, "second": true, "firs": false, "first ": false, "Second": false, "": false} {
		if got := g.valid(tok); got != want {
			t.Errorf("valid(%q) = %v, want %v", tok, got, want)
		}
	}
}

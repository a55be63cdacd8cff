package console_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath finds Debian's chromium; without it the browser tests skip, or fail when
// CI=true (.ci/run installs it).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless_shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not found in PATH (CI=true: .ci/run installs Debian's chromium)")
	}
	t.Skip("chromium not found in PATH")
	return ""
}

// browser is one headless Chromium tab with its console recorded.
type browser struct {
	ctx context.Context

	mu       sync.Mutex
	messages []chromedp.ConsoleMessage // everything the page wrote to its console, in order
}

// startBrowser starts Chromium; it is closed when the test ends.
func startBrowser(t *testing.T) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	b := &browser{ctx: ctx}
	messages := chromedp.Console(ctx) // subscribes now: nothing the page writes is lost
	recorded := make(chan struct{})
	go func() { // owned by the test: ends when the tab's context is cancelled
		defer close(recorded)
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.messages = append(b.messages, m)
			b.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		<-recorded
	})
	return b
}

// console returns the messages recorded so far.
func (b *browser) console() []chromedp.ConsoleMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]chromedp.ConsoleMessage(nil), b.messages...)
}

// problems are the console's errors, warnings and exceptions from the from-th message on.
func (b *browser) problems(from int) []string {
	var out []string
	for _, m := range b.console()[from:] {
		switch m.Type {
		case chromedp.ConsoleError, chromedp.ConsoleWarning, chromedp.ConsoleException:
			s := m.String()
			if m.URL != "" {
				s += " (" + m.URL + ")"
			}
			out = append(out, s)
		}
	}
	return out
}

// do runs actions with a bound on how long they take.
func (b *browser) do(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v\nconsole: %v", what, err, b.console())
	}
}

// eval evaluates a JavaScript expression in the page and decodes its JSON value.
func eval[T any](t *testing.T, b *browser, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// rendered is how many times the console has rendered a page (its body's data-rendered).
func (b *browser) rendered(t *testing.T) int {
	t.Helper()
	return eval[int](t, b, `Number(document.body.dataset.rendered || 0)`)
}

// waitFor waits until expr is true in the page.
func (b *browser) waitFor(t *testing.T, what, expr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(20*time.Millisecond))); err != nil {
		page, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.getElementById('main') ? document.getElementById('main').innerText : document.body.innerText`))
		if errors.Is(err, context.DeadlineExceeded) {
			err = errors.New("timed out")
		}
		t.Fatalf("waiting for %s (%s): %v\npage: %s\nconsole: %v", what, expr, err, strings.TrimSpace(page), b.console())
	}
}

// waitRender waits for a render after the one numbered before.
func (b *browser) waitRender(t *testing.T, what string, before int) {
	t.Helper()
	b.waitFor(t, what, `Number(document.body.dataset.rendered || 0) > `+strconv.Itoa(before))
}

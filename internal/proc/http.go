package proc

import (
	"context"
	"fmt"
	"io"
	"net/http"
)

// ExpectStatus GETs url with c and fails unless the status is want: the usual
// readiness check.
func ExpectStatus(ctx context.Context, c *http.Client, url string, want int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	_, _ = io.Copy(io.Discard, resp.Body) // so the connection can be reused
	if resp.StatusCode != want {
		return fmt.Errorf("GET %s: status %d, want %d; body %q", url, resp.StatusCode, want, body)
	}
	return nil
}

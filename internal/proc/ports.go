package proc

import (
	"fmt"
	"net"
)

// FreePorts reserves n distinct loopback ports. The listeners are held until
// all ports are chosen, so the n ports differ; another process could still
// take one before the subprocess binds it, which a re-run resolves.
func FreePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("reserve port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Addr is the loopback address of port.
func Addr(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }

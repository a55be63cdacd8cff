package proc

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// FreePorts reserves n distinct loopback ports for servers a test or tool
// starts. They are drawn at random below the kernel's ephemeral range
// (ip_local_port_range), where outgoing connections never take a port between
// the reservation and the server's bind (with many connections open, as in
// the e2e suites, a port the kernel handed out for a bind to port 0 was
// sometimes taken by a client's connect first); each is checked free by
// listening on it, and none is handed out twice by one process. Another process
// could still take one before the subprocess binds it: unlikely (a random draw
// from some ten thousand ports) and resolved by a re-run. Where the range
// cannot be read or leaves no room below it, the kernel chooses (port 0).
func FreePorts(n int) ([]int, error) {
	lo, hi := reservable()
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := reserve(lo, hi)
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// handedOut holds every port FreePorts returned in this process.
var handedOut struct {
	sync.Mutex
	ports map[int]bool
}

// reserve listens on a free port in [lo, hi) not handed out before (any
// port the kernel picks when lo == hi).
func reserve(lo, hi int) (net.Listener, error) {
	handedOut.Lock()
	defer handedOut.Unlock()
	if handedOut.ports == nil {
		handedOut.ports = map[int]bool{}
	}
	for range 1000 {
		port := 0
		if hi > lo {
			port = lo + rand.IntN(hi-lo)
			if handedOut.ports[port] {
				continue
			}
		}
		l, err := net.Listen("tcp", Addr(port))
		if err != nil {
			if port == 0 {
				return nil, fmt.Errorf("reserve port: %w", err)
			}
			continue // in use: draw again
		}
		port = l.Addr().(*net.TCPAddr).Port
		if handedOut.ports[port] { // the kernel's choice, handed out already
			l.Close()
			continue
		}
		handedOut.ports[port] = true
		return l, nil
	}
	return nil, fmt.Errorf("reserve port: no free port in [%d, %d) after 1000 draws", lo, hi)
}

// minReservable is the lowest port FreePorts draws: above the ports
// services commonly listen on (PostgreSQL 5432, Restate's 8080, 9070, 9080,
// Kafka 9092, Prometheus 9090, …).
const minReservable = 20000

// reservable is the range FreePorts draws from: [minReservable, the
// ephemeral range's start), or (0, 0) for the kernel's choice.
func reservable() (lo, hi int) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0, 0
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0, 0
	}
	start, err := strconv.Atoi(f[0])
	if err != nil || start-minReservable < 1000 {
		return 0, 0
	}
	return minReservable, start
}

// Addr is the loopback address of port.
func Addr(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }

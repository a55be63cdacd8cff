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
// starts. They come from below the kernel's ephemeral range
// (ip_local_port_range), where outgoing connections never take a port between
// the reservation and the server's bind (with many connections open, as in
// the e2e suites, a port the kernel handed out for a bind to port 0 was
// sometimes taken by a client's connect first). Each process walks the range
// from a random start, one port after the other, checking each free by
// listening on it and never handing one out twice: two test processes running
// at once start far apart, so neither takes a port the other reserved and has
// not bound yet (random draws from the whole range collided so, once in a CI
// run). Another process could still take one before the subprocess binds it,
// which a re-run resolves. Where the range cannot be read or leaves no room
// below it, the kernel chooses (port 0).
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

// handedOut is this process's walk over the range: the next port to try, and
// every port FreePorts returned.
var handedOut struct {
	sync.Mutex
	next  int // 0 until the first reservation
	ports map[int]bool
}

// reserve listens on a free port in [lo, hi) not handed out before, the next
// one of the walk (any port the kernel picks when lo == hi).
func reserve(lo, hi int) (net.Listener, error) {
	handedOut.Lock()
	defer handedOut.Unlock()
	if handedOut.ports == nil {
		handedOut.ports = map[int]bool{}
	}
	if hi <= lo {
		for range 100 {
			l, err := net.Listen("tcp", Addr(0))
			if err != nil {
				return nil, fmt.Errorf("reserve port: %w", err)
			}
			if port := l.Addr().(*net.TCPAddr).Port; !handedOut.ports[port] {
				handedOut.ports[port] = true
				return l, nil
			}
			l.Close() // the kernel's choice, handed out already
		}
		return nil, fmt.Errorf("reserve port: the kernel gave 100 ports handed out before")
	}
	if handedOut.next == 0 {
		handedOut.next = lo + rand.IntN(hi-lo)
	}
	for range hi - lo {
		port := handedOut.next
		handedOut.next++
		if handedOut.next >= hi {
			handedOut.next = lo
		}
		if handedOut.ports[port] {
			continue
		}
		l, err := net.Listen("tcp", Addr(port))
		if err != nil {
			continue // in use: the next one
		}
		handedOut.ports[port] = true
		return l, nil
	}
	return nil, fmt.Errorf("reserve port: no free port in [%d, %d)", lo, hi)
}

// minReservable is the lowest port FreePorts hands out: above the ports
// services commonly listen on (PostgreSQL 5432, Restate's 8080, 9070, 9080,
// Kafka 9092, Prometheus 9090, …).
const minReservable = 10000

// reservable is the range FreePorts walks: [minReservable, the
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

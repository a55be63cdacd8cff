package faultproxy

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// mode is what the proxy does with the connections it accepts.
type mode int

const (
	forward   mode = iota // dial the target and copy bytes both ways
	blackhole             // hold the connection, discard what arrives, send nothing (Cut)
	refuse                // close the connection at once (Refuse)
)

// dialTimeout bounds the dial of the target: a target that does not answer fails the
// connection instead of holding it.
const dialTimeout = 5 * time.Second

// Proxy forwards the connections accepted on Addr to its target, unless told otherwise.
//
// Invariants (under mu): every connection the proxy holds is in conns, so that Cut, Refuse, Heal
// and Close can close it; a link is in conns from its accept until the proxy drops it or one of
// its copies ends; no link is added once closed is set.
type Proxy struct {
	target string
	ln     net.Listener
	wg     sync.WaitGroup // the accept loop and every connection's goroutines

	mu struct {
		sync.Mutex
		mode   mode
		delay  time.Duration
		conns  map[*link]struct{}
		closed bool
		stats  Stats
	}
}

// Stats counts what the proxy did with connections since it started.
type Stats struct {
	Forwarded int // connections accepted and forwarded to the target
	Held      int // connections accepted during a Cut and black-holed
	Refused   int // connections accepted during a Refuse and closed at once
	Dropped   int // open connections (forwarded or held) closed by Cut, Refuse or Heal
}

// link is one accepted connection and, once dialed, its upstream connection.
type link struct {
	client   net.Conn
	upstream net.Conn      // nil while dialing and for held connections
	held     bool          // black-holed: Heal closes it
	dropped  chan struct{} // closed when the proxy drops the link, to end a Delay early
	once     sync.Once
}

// close closes both ends of l; safe to call more than once and from any goroutine.
func (l *link) close() {
	l.once.Do(func() {
		close(l.dropped)
		l.client.Close()
		if l.upstream != nil {
			l.upstream.Close()
		}
	})
}

// Start listens on a free loopback port and forwards to target ("host:port").
func Start(target string) (*Proxy, error) {
	return Listen("127.0.0.1:0", target)
}

// Listen listens on addr and forwards to target.
func Listen(addr, target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen on %s for %s: %w", addr, target, err)
	}
	p := &Proxy{target: target, ln: ln}
	p.mu.conns = map[*link]struct{}{}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the address the proxy listens on, the one to give to those who should go through it.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Target is the address the proxy forwards to.
func (p *Proxy) Target() string { return p.target }

// Cut drops every open connection and black-holes new ones until Heal.
func (p *Proxy) Cut() { p.become(blackhole) }

// Refuse drops every open connection and closes new ones as soon as they are accepted, until Heal.
func (p *Proxy) Refuse() { p.become(refuse) }

// Heal ends a Cut or Refuse: connections held by a Cut are closed, new ones are forwarded.
func (p *Proxy) Heal() { p.become(forward) }

// Delay holds each chunk of bytes for d before forwarding it, on connections open and new; 0 ends it.
func (p *Proxy) Delay(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mu.delay = d
}

// become switches to m and drops the connections that m, or leaving the previous mode, ends:
// entering blackhole or refuse drops all; healing drops those held by a cut.
func (p *Proxy) become(m mode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mu.mode = m
	for l := range p.mu.conns {
		if m != forward || l.held {
			p.mu.stats.Dropped++
			p.dropLocked(l)
		}
	}
}

// dropLocked closes l and forgets it.
func (p *Proxy) dropLocked(l *link) {
	delete(p.mu.conns, l)
	l.close()
}

// Stats is what the proxy has done so far.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mu.stats
}

// Close stops listening, closes every connection and waits for the proxy's goroutines to exit.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.mu.closed = true
	for l := range p.mu.conns {
		p.dropLocked(l)
	}
	p.mu.Unlock()
	err := p.ln.Close()
	p.wg.Wait()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("faultproxy: close listener %s: %w", p.Addr(), err)
	}
	return nil
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// A transient accept error (too many open files, an aborted handshake): try again
			// after a moment rather than spin.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		p.admit(c)
	}
}

// admit takes an accepted connection according to the current mode.
func (p *Proxy) admit(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mu.closed || p.mu.mode == refuse {
		if !p.mu.closed {
			p.mu.stats.Refused++
		}
		c.Close()
		return
	}
	l := &link{client: c, held: p.mu.mode == blackhole, dropped: make(chan struct{})}
	p.mu.conns[l] = struct{}{}
	p.wg.Add(1)
	if l.held {
		p.mu.stats.Held++
		go p.discard(l)
		return
	}
	p.mu.stats.Forwarded++
	go p.connect(l)
}

// discard reads and throws away what a black-holed client sends, until the proxy drops it.
func (p *Proxy) discard(l *link) {
	defer p.wg.Done()
	_, _ = io.Copy(io.Discard, l.client)
	p.forget(l)
}

// connect dials the target for l and, unless l was dropped meanwhile, copies bytes both ways.
func (p *Proxy) connect(l *link) {
	defer p.wg.Done()
	up, err := net.DialTimeout("tcp", p.target, dialTimeout)
	if err != nil {
		p.forget(l)
		return
	}
	p.mu.Lock()
	if _, ok := p.mu.conns[l]; !ok { // dropped by Cut, Refuse or Close while dialing
		p.mu.Unlock()
		up.Close()
		return
	}
	l.upstream = up
	p.wg.Add(2)
	p.mu.Unlock()
	go p.pipe(l, up, l.client)
	go p.pipe(l, l.client, up)
}

// pipe copies from src to dst, each chunk held for the current delay, until either side fails;
// then the whole link is closed, as a proxy that loses one direction has lost the connection.
func (p *Proxy) pipe(l *link, dst, src net.Conn) {
	defer p.wg.Done()
	defer p.forget(l)
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.wait(l) {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// wait holds a chunk for the current delay; false if the link was dropped meanwhile.
func (p *Proxy) wait(l *link) bool {
	p.mu.Lock()
	d := p.mu.delay
	p.mu.Unlock()
	if d <= 0 {
		select {
		case <-l.dropped:
			return false
		default:
			return true
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-l.dropped:
		return false
	}
}

// forget closes l and removes it from the proxy's connections, if it is still there.
func (p *Proxy) forget(l *link) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dropLocked(l)
}

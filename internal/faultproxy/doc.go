// Package faultproxy is a fault-injecting TCP proxy that a test or the chaos checker puts between
// the processes it runs, so that it can partition them: one Proxy listens on a loopback address
// and forwards every connection it accepts to one target address, until it is told to Cut
// (black-hole), Refuse or Delay traffic, and to Heal.
//
// It owns: the listener, one goroutine accepting, and for each connection the dialed upstream
// connection and two goroutines copying bytes, one each way. Every goroutine is tracked and
// stopped by Close, which returns once they have all exited.
//
// Faults:
//   - Cut drops every open connection (both ends closed: each side sees EOF or a reset) and
//     black-holes new ones until Heal: they are accepted, whatever the client sends is read and
//     discarded, nothing is dialed upstream and nothing comes back, as when packets are lost.
//     Heal closes the connections held this way, so their clients notice and dial again.
//   - Refuse drops every open connection and closes each new one right after accepting it, as a
//     peer that resets connections does. Heal ends it too.
//   - Delay(d) holds each chunk of bytes, either way, for d before forwarding it (0: none).
//
// A connection's fate is set when the proxy accepts it, which is after the client's dial returns
// (the kernel completes the handshake first): a client that dials during a Cut may still be
// forwarded if Heal comes before the proxy accepts. Stats counts connections by fate.
//
// Cut, Refuse and Heal take effect before they return: once Cut returns, no byte sent after it
// passes the proxy either way until Heal (bytes the proxy had already forwarded may still be
// waiting in the receiver's socket, as packets in flight). A Proxy is safe for use from any
// goroutine.
//
//	p, err := faultproxy.Start("127.0.0.1:7001") // the real listen address
//	if err != nil { ... }
//	defer p.Close()
//	peerAddr := p.Addr() // what the others dial
//	p.Cut()              // nothing reaches 127.0.0.1:7001 through p
//	p.Heal()
package faultproxy

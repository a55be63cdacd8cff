package pgwire

import (
	"errors"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
)

// failingListener fails its first Accepts with errs, then accepts from the real listener.
type failingListener struct {
	net.Listener
	errs []error
}

func (f *failingListener) Accept() (net.Conn, error) {
	if len(f.errs) > 0 {
		err := f.errs[0]
		f.errs = f.errs[1:]
		return nil, err
	}
	return f.Listener.Accept()
}

// TestAcceptTransient: running out of file descriptors does not stop the accept loop (psql-wire
// stops at any Accept error); other errors end it.
func TestAcceptTransient(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	emfile := &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	var wg sync.WaitGroup
	l := newLimitListener(&failingListener{ln, []error{emfile, emfile}}, 4, &wg, newSessions())
	go func() {
		if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
			defer c.Close()
		}
	}()
	c, err := l.Accept()
	if err != nil {
		t.Fatalf("Accept after two EMFILEs: %v", err)
	}
	c.Close()
	boom := errors.New("boom")
	l = newLimitListener(&failingListener{ln, []error{boom}}, 4, &wg, newSessions())
	if _, err := l.Accept(); !errors.Is(err, boom) {
		t.Fatalf("Accept: %v, want boom", err)
	}
}

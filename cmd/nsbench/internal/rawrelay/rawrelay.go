// Package rawrelay is the reference the proxy under test is measured
// against: a TCP port forwarder with no proxy protocol, relaying each
// connection to one fixed target with two io.Copy calls (which splice on
// Linux from TCP to TCP). It is what a plain Go relay reaches on this
// machine. It must stay this simple; the load client talks to it with
// protocol "raw".
package rawrelay

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/neosocksd-go/neosocksd/cmd/nsbench/internal/loopback"
)

// Relay forwards connections to Target, a loopback address.
type Relay struct {
	Target string
	// DialTimeout bounds each connect to Target; 0 means 10 s.
	DialTimeout time.Duration
}

// Serve relays the connections accepted on ln until ctx is done, then
// closes ln and every relayed connection and waits for its goroutines.
func (r *Relay) Serve(ctx context.Context, ln net.Listener) error {
	if err := loopback.Check(r.Target); err != nil {
		return err
	}
	d := net.Dialer{Timeout: r.DialTimeout}
	if d.Timeout == 0 {
		d.Timeout = 10 * time.Second
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]struct{}{}
	track := func(c net.Conn, add bool) {
		mu.Lock()
		defer mu.Unlock()
		if add {
			conns[c] = struct{}{}
		} else {
			delete(conns, c)
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-ctx.Done()
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	var err error
	for {
		var c net.Conn
		c, err = ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				err = nil
				break
			}
			// out of descriptors for a moment
			time.Sleep(10 * time.Millisecond)
			continue
		}
		track(c, true)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer track(c, false)
			defer c.Close()
			up, err := d.DialContext(ctx, "tcp", r.Target)
			if err != nil {
				return
			}
			track(up, true)
			defer track(up, false)
			defer up.Close()
			relay(c.(*net.TCPConn), up.(*net.TCPConn))
		}()
	}
	wg.Wait()
	return err
}

// relay copies both ways, passing each direction's EOF on as a
// half-close, until both directions are done.
func relay(a, b *net.TCPConn) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		io.Copy(b, a)
		b.CloseWrite()
	}()
	io.Copy(a, b)
	a.CloseWrite()
	wg.Wait()
}

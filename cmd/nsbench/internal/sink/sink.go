// Package sink is the target server of the benchmark: what the proxy
// under test connects to on behalf of the load client. It must stay
// cheap, so that the machine's time goes to the proxy, and it must not
// listen anywhere but loopback.
//
// The first byte of every connection, sent by the load client through the
// proxy, picks what the sink does with it:
//
//	'E'  echo: everything received afterwards is written back
//	'U'  upload: everything received is read and discarded
//	'D'  download: the sink writes until the peer goes away
//	'P'  one-shot echo: a length byte n, then n bytes, which are written
//	     back; then the sink closes first (server-initiated teardown)
//
// Any other first byte closes the connection.
package sink

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/neosocksd-go/neosocksd/cmd/nsbench/internal/loopback"
)

// The mode bytes.
const (
	ModeEcho     = 'E'
	ModeUpload   = 'U'
	ModeDownload = 'D'
	ModeOneShot  = 'P'
)

// bufSize is the size of the reads and writes of bulk transfers.
const bufSize = 128 << 10

var bufs = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

// Listen opens a listener on each of addrs, all of which must be loopback
// addresses; on an error it closes those already open.
func Listen(addrs []string) ([]net.Listener, error) {
	var lns []net.Listener
	for _, a := range addrs {
		err := loopback.Check(a)
		var ln net.Listener
		if err == nil {
			ln, err = net.Listen("tcp", a)
		}
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, err
		}
		lns = append(lns, ln)
	}
	return lns, nil
}

// Serve answers connections on every listener until ctx is done, then
// closes the listeners and the connections and waits for its goroutines.
func Serve(ctx context.Context, lns []net.Listener) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]struct{}{}
	for _, ln := range lns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c, err := ln.Accept()
				if err != nil {
					if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
						return
					}
					// out of descriptors for a moment: the proxy's
					// peers come back when tunnels close
					time.Sleep(10 * time.Millisecond)
					continue
				}
				mu.Lock()
				conns[c] = struct{}{}
				mu.Unlock()
				wg.Add(1)
				go func() {
					defer wg.Done()
					handle(c)
					c.Close()
					mu.Lock()
					delete(conns, c)
					mu.Unlock()
				}()
			}
		}()
	}
	<-ctx.Done()
	for _, ln := range lns {
		ln.Close()
	}
	mu.Lock()
	for c := range conns {
		c.Close()
	}
	mu.Unlock()
	wg.Wait()
}

func handle(c net.Conn) {
	var mode [1]byte
	if _, err := io.ReadFull(c, mode[:]); err != nil {
		return
	}
	bp := bufs.Get().(*[]byte)
	defer bufs.Put(bp)
	buf := *bp
	switch mode[0] {
	case ModeEcho:
		for {
			n, err := c.Read(buf)
			if n > 0 {
				if _, werr := c.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	case ModeOneShot:
		var n [1]byte
		if _, err := io.ReadFull(c, n[:]); err != nil {
			return
		}
		if _, err := io.ReadFull(c, buf[:n[0]]); err != nil {
			return
		}
		c.Write(buf[:n[0]])
	case ModeUpload:
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	case ModeDownload:
		// The peer's close must end a Write that is blocked on a full
		// window, so a reader waits for it and closes the socket.
		gone := make(chan struct{})
		go func() {
			defer close(gone)
			var b [1]byte
			c.Read(b[:])
			c.Close()
		}()
		for {
			if _, err := c.Write(buf); err != nil {
				break
			}
		}
		c.Close()
		<-gone
	}
}

//go:build linux

package evloop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/cmd/nsbench/internal/sink"
)

// FuzzHandshake sends arbitrary bytes to a running loop as a client that
// then closes its write half, and checks that the loop ends the
// connection: every input is answered, relayed or refused, and nothing
// leaves a connection hanging or stops the loop (a panic there ends the
// test binary). Names do not resolve, and the loop connects to the
// sink's port only.
func FuzzHandshake(f *testing.F) {
	var sinkPort atomic.Uint32 // set once the sink listens
	fx := start(f, Config{
		Timeout: 2 * time.Second,
		Allow:   func(ap netip.AddrPort) bool { return uint32(ap.Port()) == sinkPort.Load() },
		Lookup: func(context.Context, string) (netip.Addr, error) {
			return netip.Addr{}, errors.New("no names while fuzzing")
		},
	})
	port := fx.sink4.Port()
	sinkPort.Store(uint32(port))
	p := []byte{byte(port >> 8), byte(port)}
	seeds := [][]byte{
		append([]byte{5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1}, append(p, sink.ModeEcho, 'x')...),
		append([]byte{5, 1, 0, 5, 1, 0, 3, 9}, append([]byte("localhost"), p...)...),
		append([]byte{5, 2, 0, 2, 5, 2, 0, 1, 127, 0, 0, 1}, p...),
		{5, 1, 2},
		append(append([]byte{4, 1}, p...), 127, 0, 0, 1, 'u', 0, sink.ModeOneShot, 1, 'y'),
		append(append([]byte{4, 1}, p...), 0, 0, 0, 1, 0, 'h', 0),
		[]byte(fmt.Sprintf("CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\nEz", port)),
		[]byte("GET / HTTP/1.1\r\n\r\n"),
		{},
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := net.DialTimeout("tcp", fx.socks.String(), wait)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(wait))
		if _, err := c.Write(in); err != nil {
			return // the loop already closed: an answer too
		}
		c.(*net.TCPConn).CloseWrite()
		// The sink's download mode writes until the peer leaves: a
		// megabyte is enough to show the tunnel works.
		n, err := io.Copy(io.Discard, io.LimitReader(c, 1<<20))
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("the connection did not end (%d bytes read)", n)
		}
	})
}

package server

import (
	"bytes"
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/route"
)

// pipeDialer answers every dial with one end of an in-memory pipe whose
// other end echoes.
type pipeDialer struct{ wg sync.WaitGroup }

func (d *pipeDialer) Dial(_ context.Context, _ addr.Addr, _ route.Chain) (net.Conn, error) {
	a, b := net.Pipe()
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer b.Close()
		_, _ = io.Copy(b, b)
	}()
	return a, nil
}

// FuzzSOCKSHandshake feeds arbitrary client bytes to the SOCKS handler
// over an in-memory connection: it must answer with a SOCKS reply or
// nothing, and finish (no hang, no panic) once the client is gone.
func FuzzSOCKSHandshake(f *testing.F) {
	f.Add([]byte("\x05\x01\x00\x05\x01\x00\x03\x0bexample.org\x00\x50hello"), uint8(0))
	f.Add([]byte("\x05\x02\x02\x00\x01\x01u\x01p\x05\x01\x00\x01\x7f\x00\x00\x01\x00\x50"), uint8(1))
	f.Add([]byte("\x04\x01\x00\x50\x00\x00\x00\x01user\x00host\x00data"), uint8(2))
	f.Add([]byte("\x05\x01\x00\x05\x03\x00\x01\x00\x00\x00\x00\x00\x00"), uint8(3))
	f.Add([]byte("\x04\x01\x00\x50\x7f\x00\x00\x01\x00"), uint8(4))
	f.Fuzz(func(t *testing.T, in []byte, mode uint8) {
		conf := testConfig()
		conf.AuthRequired = mode&1 != 0
		var r route.Router
		if mode&2 != 0 {
			r = route.RouterFunc(func(ctx context.Context, req *route.Request) (route.Decision, error) {
				if mode&4 != 0 {
					return route.Decision{Verdict: route.Reject}, nil
				}
				return route.Direct(req.Addr), nil
			})
		}
		d := new(pipeDialer)
		s, err := New(Options{Config: conf, Router: r, Dialer: d})
		if err != nil {
			t.Fatal(err)
		}
		client, server := net.Pipe()
		c := s.newConn(server)
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.serveConn(c, s.serveSOCKS)
			s.conndone.Wait()
		}()
		var out bytes.Buffer
		read := make(chan struct{})
		go func() {
			defer close(read)
			_, _ = io.Copy(&out, client)
		}()
		_ = client.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = client.Write(in)
		client.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("handler did not finish")
		}
		<-read
		d.wg.Wait()
		b := out.Bytes()
		if len(b) > 0 && b[0] != 5 && b[0] != 0 {
			t.Fatalf("reply starts with %#x", b[0])
		}
		if s.stats.HalfOpen.Load() != 0 || s.stats.Sessions.Load() != 0 {
			t.Fatalf("halfopen %d sessions %d", s.stats.HalfOpen.Load(), s.stats.Sessions.Load())
		}
	})
}

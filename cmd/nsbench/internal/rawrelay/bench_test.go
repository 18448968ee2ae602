package rawrelay

import (
	"context"
	"io"
	"net"
	"testing"

	"github.com/neosocksd-go/neosocksd/cmd/nsbench/internal/sink"
)

// BenchmarkSetup is one relayed connection per iteration: connect, a
// 31-byte one-shot echo through the sink, close.
func BenchmarkSetup(b *testing.B) {
	lns, err := sink.Listen([]string{"127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	sinkDone := make(chan struct{})
	go func() { sink.Serve(ctx, lns); close(sinkDone) }()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	r := &Relay{Target: lns[0].Addr().String()}
	relayDone := make(chan error, 1)
	go func() { relayDone <- r.Serve(ctx, ln) }()
	defer func() {
		cancel()
		<-sinkDone
		if err := <-relayDone; err != nil {
			b.Error(err)
		}
	}()
	msg := append([]byte{sink.ModeOneShot, 31}, "nsbench-echo-payload-0123456789"...)
	got := make([]byte, 31)
	b.ReportAllocs()
	for b.Loop() {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Write(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, got); err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}

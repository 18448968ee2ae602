package rawrelay

import (
	"context"
	"io"
	"net"
	"testing"
	"time"
)

// The relay carries bytes both ways and passes the client's half-close on
// to the target, whose reply still arrives.
func TestRelayHalfClose(t *testing.T) {
	target, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	go func() {
		c, err := target.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		got, _ := io.ReadAll(c) // until the relayed half-close
		c.Write(append([]byte("got "), got...))
	}()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	r := &Relay{Target: target.Addr().String()}
	go func() { served <- r.Serve(ctx, ln) }()

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "ping")
	c.(*net.TCPConn).CloseWrite()
	reply, err := io.ReadAll(c)
	if err != nil || string(reply) != "got ping" {
		t.Errorf("reply %q, %v; want \"got ping\"", reply, err)
	}
	c.Close()
	cancel()
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

func TestRefusesNonLoopbackTarget(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	r := &Relay{Target: "192.0.2.1:80"}
	if err := r.Serve(context.Background(), ln); err == nil {
		t.Fatal("Serve accepted a non-loopback target")
	}
}

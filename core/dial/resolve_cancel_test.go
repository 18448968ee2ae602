package dial

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/neosocksd-go/neosocksd/core/config"
)

// TestResolveCancelled: a --nameserver lookup whose context ends stops
// waiting for the answer and closes its socket then, not at the end of
// the resolver's own timeout (Go's reads on until it, 5 s by default,
// whatever the context: the server's Shutdown left such a lookup and its
// socket behind, a CI flake of TestLoopShutdown's descriptor count). The
// nameserver here answers only if the socket that asked stays open (its
// port cannot be bound) for a good while after the cancellation, and an
// answer taken then would be a lookup that outlived its context.
func TestResolveCancelled(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	d := New(Options{Nameserver: pc.LocalAddr().String(), ResolvePF: config.PFInet})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		ip  netip.Addr
		err error
	}
	done := make(chan result, 1)
	go func() {
		ip, err := d.Resolve(ctx, "late.test.")
		done <- result{ip, err}
	}()
	buf := make([]byte, 1500)
	_ = pc.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, from, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatalf("no query: %v", err)
	}
	cancel()
	closed := false
	for deadline := time.Now().Add(3 * time.Second); !closed && time.Now().Before(deadline); {
		if probe, err := net.ListenPacket("udp4", from.String()); err == nil {
			probe.Close()
			closed = true
			break
		}
		time.Sleep(time.Millisecond)
	}
	if !closed {
		if answer := dnsAnswer(t, buf[:n], netip.MustParseAddr("127.0.0.9")); answer != nil {
			_, _ = pc.WriteTo(answer, from)
		}
	}
	r := <-done
	if r.err == nil {
		t.Fatalf("the lookup took %v, answered after its context ended", r.ip)
	}
	wantKind(t, r.err, Cancelled)
	if !closed {
		t.Errorf("the lookup's socket stayed open after its context ended")
	}
}

// dnsAnswer answers query with an A record of ip.
func dnsAnswer(t *testing.T, query []byte, ip netip.Addr) []byte {
	t.Helper()
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		t.Fatal(err)
	}
	q, err := p.Question()
	if err != nil {
		t.Fatal(err)
	}
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, RecursionDesired: h.RecursionDesired, RecursionAvailable: true})
	_ = b.StartQuestions()
	_ = b.Question(q)
	_ = b.StartAnswers()
	_ = b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}, dnsmessage.AResource{A: ip.As4()})
	msg, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

package dial

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// serveDeadline bounds every connection a fake server handles, so a test
// that goes wrong fails instead of hanging.
const serveDeadline = 10 * time.Second

// serve runs handle for every connection accepted on a loopback listener
// of network ("tcp4" or "tcp6") and returns its address. Cleanup closes the
// listener and every open connection, and waits for the handlers.
func serve(t testing.TB, network string, handle func(c net.Conn)) netip.AddrPort {
	t.Helper()
	host := "127.0.0.1:0"
	if network == "tcp6" {
		host = "[::1]:0"
	}
	ln, err := net.Listen(network, host)
	if err != nil {
		t.Skipf("listen %s: %v", host, err)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		open = map[net.Conn]bool{}
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			open[c] = true
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() {
					c.Close()
					mu.Lock()
					delete(open, c)
					mu.Unlock()
				}()
				_ = c.SetDeadline(time.Now().Add(serveDeadline))
				handle(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().(*net.TCPAddr).AddrPort()
}

// echo copies everything back.
func echo(c net.Conn) { _, _ = io.Copy(c, c) }

// drain reads until the peer closes.
func drain(c net.Conn) { _, _ = io.Copy(io.Discard, c) }

// exchange is one step of a scripted upstream: read exactly expect, then
// write reply (nothing when nil).
type exchange struct {
	expect, reply []byte
}

// script returns a handler that checks the exact bytes of each step and
// then hands the connection to then (which may be nil: close).
func script(t testing.TB, steps []exchange, then func(net.Conn)) func(net.Conn) {
	return func(c net.Conn) {
		for i, s := range steps {
			if len(s.expect) > 0 {
				got := make([]byte, len(s.expect))
				if _, err := io.ReadFull(c, got); err != nil {
					t.Errorf("step %d: read: %v (got % x, want % x)", i, err, got, s.expect)
					return
				}
				if !bytes.Equal(got, s.expect) {
					t.Errorf("step %d: got % x (%q), want % x (%q)", i, got, got, s.expect, s.expect)
					return
				}
			}
			if s.reply != nil {
				if _, err := c.Write(s.reply); err != nil {
					t.Errorf("step %d: write: %v", i, err)
					return
				}
			}
		}
		if then != nil {
			then(c)
		}
	}
}

// relayTo returns a handler tail that connects to next and relays both
// ways, passing half-closes on.
func relayTo(t testing.TB, next netip.AddrPort) func(net.Conn) {
	return func(c net.Conn) {
		u, err := net.Dial("tcp", next.String())
		if err != nil {
			t.Errorf("relay to %s: %v", next, err)
			return
		}
		defer u.Close()
		_ = u.SetDeadline(time.Now().Add(serveDeadline))
		done := make(chan struct{})
		go func() {
			_, _ = io.Copy(u, c)
			_ = u.(*net.TCPConn).CloseWrite()
			close(done)
		}()
		_, _ = io.Copy(c, u)
		_ = c.(*net.TCPConn).CloseWrite()
		<-done
	}
}

// roundTrip writes msg on c, half-closes and expects the echo back.
func roundTrip(t testing.TB, c net.Conn, msg string) {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(serveDeadline))
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatalf("write: %v", err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("read echo: %v (got %q)", err, got)
	}
	if string(got) != msg {
		t.Fatalf("echo %q, want %q", got, msg)
	}
}

// fakeDNS is a UDP DNS server answering A and AAAA questions from a table
// and NXDOMAIN for any other name. It counts the questions it received.
type fakeDNS struct {
	addr    netip.AddrPort
	mu      sync.Mutex
	queries int
}

func startDNS(t testing.TB, names map[string][]netip.Addr) *fakeDNS {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeDNS{addr: pc.LocalAddr().(*net.UDPAddr).AddrPort()}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			var p dnsmessage.Parser
			h, err := p.Start(buf[:n])
			if err != nil {
				continue
			}
			q, err := p.Question()
			if err != nil {
				continue
			}
			f.mu.Lock()
			f.queries++
			f.mu.Unlock()
			ips, known := names[q.Name.String()]
			rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired, RecursionAvailable: true}
			if !known {
				rh.RCode = dnsmessage.RCodeNameError
			}
			b := dnsmessage.NewBuilder(nil, rh)
			b.EnableCompression()
			_ = b.StartQuestions()
			_ = b.Question(q)
			_ = b.StartAnswers()
			for _, ip := range ips {
				rrh := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}
				switch {
				case ip.Is4() && q.Type == dnsmessage.TypeA:
					_ = b.AResource(rrh, dnsmessage.AResource{A: ip.As4()})
				case ip.Is6() && q.Type == dnsmessage.TypeAAAA:
					_ = b.AAAAResource(rrh, dnsmessage.AAAAResource{AAAA: ip.As16()})
				}
			}
			msg, err := b.Finish()
			if err != nil {
				continue
			}
			_, _ = pc.WriteTo(msg, from)
		}
	}()
	t.Cleanup(func() {
		pc.Close()
		<-done
	})
	return f
}

func (f *fakeDNS) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.queries
}

// slogTo returns a logger writing text records at Info and above to w.
func slogTo(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

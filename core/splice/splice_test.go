//go:build linux

package splice

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// guard bounds how long a test waits for something that should happen
// at once; reaching it means the code under test hangs.
const guard = 10 * time.Second

type copyResult struct {
	n   int64
	err error
}

// progressCopy is a copy function under test: CopyProgress or CopyBursts.
type progressCopy func(dst, src *net.TCPConn, progress func(int64)) (int64, error)

// forEachCopy runs test once with each copy function that shares Copy's
// contract.
func forEachCopy(t *testing.T, test func(t *testing.T, cp progressCopy)) {
	for _, x := range []struct {
		name string
		cp   progressCopy
	}{{"CopyProgress", CopyProgress}, {"CopyBursts", CopyBursts}} {
		t.Run(x.name, func(t *testing.T) { test(t, x.cp) })
	}
}

func startCopy(cp progressCopy, dst, src *net.TCPConn, progress func(int64)) <-chan copyResult {
	ch := make(chan copyResult, 1)
	go func() {
		n, err := cp(dst, src, progress)
		ch <- copyResult{n, err}
	}()
	return ch
}

func waitCopy(t *testing.T, ch <-chan copyResult) copyResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(guard):
		t.Fatal("Copy did not return")
		return copyResult{}
	}
}

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// sendAndClose writes b to c, then half-closes it.
func sendAndClose(c *net.TCPConn, b []byte) <-chan error {
	ch := make(chan error, 1)
	go func() {
		_, err := c.Write(b)
		if err == nil {
			err = c.CloseWrite()
		}
		ch <- err
	}()
	return ch
}

// readAllFrom reads c to EOF.
func readAllFrom(c *net.TCPConn) <-chan []byte {
	ch := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(c)
		ch <- b
	}()
	return ch
}

func TestAvailable(t *testing.T) {
	if !Available() {
		t.Fatal("splice should be available on Linux")
	}
}

// TestCopyPayloads relays random payloads in both directions at once and
// checks them byte for byte, and that Copy returns the count at src EOF
// without closing dst (the relay still writes a tail after Copy).
func TestCopyPayloads(t *testing.T) { forEachCopy(t, testCopyPayloads) }

func testCopyPayloads(t *testing.T, cp progressCopy) {
	sizes := []struct {
		name string
		n    int
	}{
		{"empty", 0},
		{"one", 1},
		{"small", 1000},
		{"page-1", 4095},
		{"64KiB+1", 64<<10 + 1},
		{"pipe", DefaultPipeSize},
		{"3pipes+17", 3*DefaultPipeSize + 17},
		{"5MiB", 5 << 20},
	}
	for i, tc := range sizes {
		t.Run(tc.name, func(t *testing.T) {
			c := newChain(t)
			up := randomBytes(uint64(i), tc.n)
			down := randomBytes(uint64(i)+100, tc.n/2+3)
			var upProgress atomic.Int64
			upCh := startCopy(cp, c.relayOut, c.relayIn, func(n int64) { upProgress.Add(n) })
			downCh := startCopy(cp, c.relayIn, c.relayOut, nil)
			sentUp := sendAndClose(c.client, up)
			sentDown := sendAndClose(c.sink, down)
			gotUp := readAllFrom(c.sink)
			gotDown := readAllFrom(c.client)

			r := waitCopy(t, upCh)
			if r.err != nil || r.n != int64(len(up)) {
				t.Fatalf("up: Copy = %d, %v; want %d, nil", r.n, r.err, len(up))
			}
			if upProgress.Load() != r.n {
				t.Errorf("up: progress reported %d bytes, Copy returned %d", upProgress.Load(), r.n)
			}
			// Copy must not have closed or half-closed dst.
			tail := []byte("tail after Copy")
			if _, err := c.relayOut.Write(tail); err != nil {
				t.Fatalf("write after Copy: %v", err)
			}
			if err := c.relayOut.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			r = waitCopy(t, downCh)
			if r.err != nil || r.n != int64(len(down)) {
				t.Fatalf("down: Copy = %d, %v; want %d, nil", r.n, r.err, len(down))
			}
			if err := c.relayIn.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			for _, ch := range []<-chan error{sentUp, sentDown} {
				if err := <-ch; err != nil {
					t.Fatalf("sender: %v", err)
				}
			}
			if b := <-gotUp; !bytes.Equal(b, append(up, tail...)) {
				t.Errorf("up: got %d bytes (sha %x), want %d (sha %x)", len(b), sha256.Sum256(b), len(up)+len(tail), sha256.Sum256(append(up, tail...)))
			}
			if b := <-gotDown; !bytes.Equal(b, down) {
				t.Errorf("down: got %d bytes, want %d", len(b), len(down))
			}
		})
	}
}

// TestSmallPipe uses the kernel default pipe and no pool, so payloads are
// many times the pipe size and every Copy creates and closes its pipe.
func TestSmallPipe(t *testing.T) { forEachCopy(t, testSmallPipe) }

func testSmallPipe(t *testing.T, cp progressCopy) {
	SetPipeSize(0)
	SetPoolSize(0)
	t.Cleanup(func() { SetPipeSize(DefaultPipeSize); SetPoolSize(DefaultPoolSize) })
	c := newChain(t)
	payload := randomBytes(42, 1<<20+333)
	ch := startCopy(cp, c.relayOut, c.relayIn, nil)
	sent := sendAndClose(c.client, payload)
	got := readAllFrom(c.sink)
	r := waitCopy(t, ch)
	if r.err != nil || r.n != int64(len(payload)) {
		t.Fatalf("Copy = %d, %v; want %d, nil", r.n, r.err, len(payload))
	}
	c.relayOut.CloseWrite()
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	if b := <-got; !bytes.Equal(b, payload) {
		t.Fatalf("got %d bytes, want %d identical bytes", len(b), len(payload))
	}
}

// TestPipeSize checks the size actually given to new pipes.
func TestPipeSize(t *testing.T) {
	t.Cleanup(func() { SetPipeSize(DefaultPipeSize) })
	tests := []struct {
		name      string
		req, want int
	}{
		{"default", 0, 64 << 10},
		{"256KiB", 256 << 10, 256 << 10},
		{"rounded up", 100 << 10, 128 << 10},
		{"smaller than default", 8192, 8192},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			SetPipeSize(tc.req)
			p, err := pool.get()
			if err != nil {
				t.Fatal(err)
			}
			defer pool.put(p)
			if p.size != tc.want {
				t.Errorf("pipe size %d, want %d", p.size, tc.want)
			}
		})
	}
	// Above pipe-max-size an unprivileged user is refused; the request
	// then steps down by quarters and ends at pipe-max-size (1 MiB by
	// default), or higher with CAP_SYS_RESOURCE.
	t.Run("above pipe-max-size", func(t *testing.T) {
		b, err := os.ReadFile("/proc/sys/fs/pipe-max-size")
		if err != nil {
			t.Skip(err)
		}
		maxSize, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		SetPipeSize(64 * maxSize)
		p, err := pool.get()
		if err != nil {
			t.Fatal(err)
		}
		defer pool.put(p)
		if p.size < maxSize {
			t.Errorf("pipe size %d, want at least pipe-max-size %d", p.size, maxSize)
		}
	})
}

// resetConn makes c send a RST instead of a FIN when closed.
func resetConn(t *testing.T, c *net.TCPConn) {
	t.Helper()
	if err := c.SetLinger(0); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestPeerReset(t *testing.T) { forEachCopy(t, testPeerReset) }

func testPeerReset(t *testing.T, cp progressCopy) {
	t.Run("src", func(t *testing.T) {
		c := newChain(t)
		ch := startCopy(cp, c.relayOut, c.relayIn, nil)
		if _, err := c.client.Write([]byte("some bytes first")); err != nil {
			t.Fatal(err)
		}
		resetConn(t, c.client)
		r := waitCopy(t, ch)
		if !errors.Is(r.err, syscall.ECONNRESET) {
			t.Fatalf("Copy = %d, %v; want ECONNRESET", r.n, r.err)
		}
	})
	t.Run("dst", func(t *testing.T) {
		c := newChain(t)
		resetConn(t, c.sink)
		ch := startCopy(cp, c.relayOut, c.relayIn, nil)
		// Keep sending until the relay notices; bounded by the guard.
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			buf := make([]byte, 64<<10)
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := c.client.Write(buf); err != nil {
					return
				}
			}
		}()
		r := waitCopy(t, ch)
		if !errors.Is(r.err, syscall.ECONNRESET) && !errors.Is(r.err, syscall.EPIPE) {
			t.Fatalf("Copy = %d, %v; want ECONNRESET or EPIPE", r.n, r.err)
		}
		c.client.Close()
	})
}

// progressSignal returns a progress callback for Copy that signals the
// returned channel without ever blocking Copy.
func progressSignal() (<-chan struct{}, func(int64)) {
	progressed := make(chan struct{}, 1)
	return progressed, func(int64) {
		select {
		case progressed <- struct{}{}:
		default:
		}
	}
}

func TestCloseUnblocks(t *testing.T) { forEachCopy(t, testCloseUnblocks) }

func testCloseUnblocks(t *testing.T, cp progressCopy) {
	t.Run("waiting on src", func(t *testing.T) {
		c := newChain(t)
		progressed, progress := progressSignal()
		ch := startCopy(cp, c.relayOut, c.relayIn, progress)
		if _, err := c.client.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		<-progressed // Copy is past its first byte and waits for more
		c.relayIn.Close()
		r := waitCopy(t, ch)
		if !errors.Is(r.err, net.ErrClosed) || r.n != 1 {
			t.Fatalf("Copy = %d, %v; want 1, net.ErrClosed", r.n, r.err)
		}
	})
	t.Run("waiting on dst", func(t *testing.T) {
		c := newChain(t)
		// The sink never reads: once the socket buffers are full, Copy
		// waits for dst to become writable.
		progressed, progress := progressSignal()
		ch := startCopy(cp, c.relayOut, c.relayIn, progress)
		writerDone := make(chan struct{})
		go func() {
			defer close(writerDone)
			buf := make([]byte, 256<<10)
			for range 1024 { // at most 256 MiB, far above loopback buffers
				if _, err := c.client.Write(buf); err != nil {
					return
				}
			}
		}()
		<-progressed
		c.relayOut.Close()
		r := waitCopy(t, ch)
		if !errors.Is(r.err, net.ErrClosed) {
			t.Fatalf("Copy = %d, %v; want net.ErrClosed", r.n, r.err)
		}
		c.client.Close()
		<-writerDone
	})
}

func TestDeadlines(t *testing.T) { forEachCopy(t, testDeadlines) }

func testDeadlines(t *testing.T, cp progressCopy) {
	t.Run("read", func(t *testing.T) {
		c := newChain(t)
		if err := c.relayIn.SetReadDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		r := waitCopy(t, startCopy(cp, c.relayOut, c.relayIn, nil))
		if !errors.Is(r.err, os.ErrDeadlineExceeded) {
			t.Fatalf("Copy = %d, %v; want deadline exceeded", r.n, r.err)
		}
		var ne net.Error
		if !errors.As(r.err, &ne) || !ne.Timeout() {
			t.Errorf("error %v is not a net.Error timeout", r.err)
		}
	})
	t.Run("write", func(t *testing.T) {
		c := newChain(t)
		if err := c.relayOut.SetWriteDeadline(time.Now().Add(100 * time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		ch := startCopy(cp, c.relayOut, c.relayIn, nil)
		writerDone := make(chan struct{})
		go func() {
			defer close(writerDone)
			buf := make([]byte, 256<<10)
			for range 1024 {
				if _, err := c.client.Write(buf); err != nil {
					return
				}
			}
		}()
		r := waitCopy(t, ch)
		if !errors.Is(r.err, os.ErrDeadlineExceeded) {
			t.Fatalf("Copy = %d, %v; want deadline exceeded", r.n, r.err)
		}
		if r.n == 0 {
			t.Errorf("no bytes moved before the deadline")
		}
		c.client.Close()
		<-writerDone
	})
	t.Run("past", func(t *testing.T) {
		c := newChain(t)
		if _, err := c.client.Write([]byte("pending")); err != nil {
			t.Fatal(err)
		}
		if err := c.relayIn.SetDeadline(time.Unix(1, 0)); err != nil {
			t.Fatal(err)
		}
		r := waitCopy(t, startCopy(cp, c.relayOut, c.relayIn, nil))
		if !errors.Is(r.err, os.ErrDeadlineExceeded) || r.n != 0 {
			t.Fatalf("Copy = %d, %v; want 0, deadline exceeded", r.n, r.err)
		}
	})
}

// TestNoLeaks runs sessions that end in every way (EOF, reset, close,
// deadline) and checks that descriptors and goroutines return to where
// they were once the idle pipes are released.
func TestNoLeaks(t *testing.T) { forEachCopy(t, testNoLeaks) }

func testNoLeaks(t *testing.T, cp progressCopy) {
	// Warm up: the runtime's poller descriptors appear on first use.
	newChain(t).close()
	Release()
	fds := openFDs(t)
	gs := runtime.NumGoroutine()
	for i := range 20 {
		func() {
			c := newChain(t)
			defer c.close()
			ch := startCopy(cp, c.relayOut, c.relayIn, nil)
			got := readAllFrom(c.sink)
			payload := randomBytes(uint64(i), 100<<10)
			if _, err := c.client.Write(payload); err != nil {
				t.Fatal(err)
			}
			switch i % 4 {
			case 0:
				c.client.CloseWrite()
			case 1:
				c.client.SetLinger(0)
				c.client.Close()
			case 2:
				c.relayIn.SetReadDeadline(time.Now())
			case 3:
				c.relayIn.Close()
			}
			waitCopy(t, ch)
			c.relayOut.Close()
			<-got
		}()
	}
	// Close the chains (Cleanup would be too late to count).
	Release()
	// Closing descriptors is synchronous, but the test's own sockets are
	// closed by c.close above; allow the runtime a moment for goroutines.
	if n := settleGoroutines(gs); n > gs {
		t.Errorf("goroutines: %d before, %d after", gs, n)
	}
	if n := openFDs(t); n != fds {
		t.Errorf("open descriptors: %d before, %d after", fds, n)
	}
}

// TestPoolBound checks that pooled pipes never exceed the bound.
func TestPoolBound(t *testing.T) {
	Release()
	SetPoolSize(2)
	t.Cleanup(func() { SetPoolSize(DefaultPoolSize) })
	var ps []*pipe
	for range 5 {
		p, err := pool.get()
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	for _, p := range ps {
		pool.put(p)
	}
	if n := pool.drain(); n != 2 {
		t.Fatalf("pooled %d pipes, want 2", n)
	}
}

func TestFallback(t *testing.T) {
	c := newChain(t)
	payload := randomBytes(9, 300<<10)
	var prog atomic.Int64
	ch := make(chan copyResult, 1)
	go func() {
		n, err := fallback(c.relayOut, c.relayIn, 5, func(n int64) { prog.Add(n) })
		ch <- copyResult{n, err}
	}()
	sent := sendAndClose(c.client, payload)
	got := readAllFrom(c.sink)
	r := waitCopy(t, ch)
	if r.err != nil || r.n != int64(len(payload))+5 || prog.Load() != int64(len(payload)) {
		t.Fatalf("fallback = %d, %v (progress %d); want %d, nil", r.n, r.err, prog.Load(), len(payload)+5)
	}
	c.relayOut.CloseWrite()
	<-sent
	if b := <-got; !bytes.Equal(b, payload) {
		t.Fatal("fallback corrupted the payload")
	}
}

func TestNilConn(t *testing.T) {
	if _, err := Copy(nil, nil); !errors.Is(err, ErrNilConn) {
		t.Fatal("Copy(nil, nil) succeeded")
	}
}

func TestPipeUsable(t *testing.T) {
	tests := []struct {
		name      string
		req, size int
		want      bool
	}{
		{"as requested", 256 << 10, 256 << 10, true},
		{"refused above pipe-max-size", 4 << 20, 64 << 10, true},
		{"kernel default", 0, 64 << 10, true},
		{"small on purpose", 4096, 4096, true},
		{"over the user's budget", 256 << 10, 8192, false},
		{"default over budget", 0, 4096, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &pipe{req: tc.req, size: tc.size}
			if got := p.usable(); got != tc.want {
				t.Errorf("usable() = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestManySessions runs batches of concurrent full-duplex sessions that
// share the pipe pool, with writers using uneven write sizes, and checks
// every byte; a lost wake-up would show as a session hitting the guard.
func TestManySessions(t *testing.T) { forEachCopy(t, testManySessions) }

func testManySessions(t *testing.T, cp progressCopy) {
	const batches, perBatch = 5, 8
	for batch := range batches {
		var results []<-chan error
		for s := range perBatch {
			c := newChain(t)
			seed := uint64(batch*perBatch + s)
			up := randomBytes(seed, 1<<20+int(seed)*4099)
			down := randomBytes(seed+1000, 256<<10+int(seed)*17)
			ch := make(chan error, 1)
			results = append(results, ch)
			go func() {
				ch <- duplexSession(cp, c, up, down)
			}()
		}
		for _, ch := range results {
			select {
			case err := <-ch:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(guard):
				t.Fatal("session did not finish")
			}
		}
	}
}

// duplexSession relays up from client to sink and down from sink to
// client at the same time, like the proxy, and checks both payloads.
func duplexSession(cp progressCopy, c *chain, up, down []byte) error {
	upCh := startCopy(cp, c.relayOut, c.relayIn, nil)
	downCh := startCopy(cp, c.relayIn, c.relayOut, nil)
	writeUneven := func(conn *net.TCPConn, b []byte, seed uint64) <-chan error {
		ch := make(chan error, 1)
		go func() {
			r := rand.New(rand.NewPCG(seed, 1))
			for len(b) > 0 {
				n := min(len(b), 1+r.IntN(200<<10))
				if _, err := conn.Write(b[:n]); err != nil {
					ch <- err
					return
				}
				b = b[n:]
			}
			ch <- conn.CloseWrite()
		}()
		return ch
	}
	sentUp := writeUneven(c.client, up, uint64(len(up)))
	sentDown := writeUneven(c.sink, down, uint64(len(down)))
	gotUp := readAllFrom(c.sink)
	gotDown := readAllFrom(c.client)
	for _, x := range []struct {
		name string
		ch   <-chan copyResult
		want int
		dst  *net.TCPConn
	}{{"up", upCh, len(up), c.relayOut}, {"down", downCh, len(down), c.relayIn}} {
		r := <-x.ch
		if r.err != nil || r.n != int64(x.want) {
			return fmt.Errorf("%s: Copy = %d, %v; want %d", x.name, r.n, r.err, x.want)
		}
		if err := x.dst.CloseWrite(); err != nil {
			return err
		}
	}
	for _, ch := range []<-chan error{sentUp, sentDown} {
		if err := <-ch; err != nil {
			return err
		}
	}
	if !bytes.Equal(<-gotUp, up) || !bytes.Equal(<-gotDown, down) {
		return errors.New("payload corrupted")
	}
	return nil
}

// TestBurstsIdleHoldsNothing checks that CopyBursts splices a large burst
// through a pooled pipe, gives the pipe back when src goes idle, and
// copies small bursts without a pipe.
func TestBurstsIdleHoldsNothing(t *testing.T) {
	c := newChain(t)
	Release()
	fds := openFDs(t)
	var moved atomic.Int64
	ch := startCopy(CopyBursts, c.relayOut, c.relayIn, func(n int64) { moved.Add(n) })
	readN := func(n int) []byte {
		t.Helper()
		b := make([]byte, n)
		if err := c.sink.SetReadDeadline(time.Now().Add(guard)); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c.sink, b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	// idle waits until the copy holds no pipe (the pool's idle ones are
	// closed as they come back) and returns how many pipes came back.
	idle := func() int {
		t.Helper()
		back := 0
		for range 400 {
			back += pool.drain()
			if openFDs(t) == fds {
				return back
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatalf("descriptors stay at %d while the copy is idle, want %d", openFDs(t), fds)
		return 0
	}
	// A burst is what src has queued when the copy wakes, so how the bulk
	// payload splits into bursts depends on timing; a small burst right
	// after it may start either way (pipes -1: not checked).
	bursts := []struct {
		name  string
		n     int
		pipes int // pipes lent for the burst
	}{
		{"bulk", 2 << 20, 1},
		{"small after bulk", 100, -1},
		{"small after small is read", 100, 0},
		{"one byte", 1, 0},
	}
	for i, b := range bursts {
		payload := randomBytes(uint64(i), b.n)
		if _, err := c.client.Write(payload); err != nil {
			t.Fatal(err)
		}
		if got := readN(b.n); !bytes.Equal(got, payload) {
			t.Fatalf("%s: payload corrupted", b.name)
		}
		back := idle()
		if b.pipes >= 0 && (back > 0) != (b.pipes > 0) {
			t.Errorf("%s: %d pipes came back to the pool, want %d", b.name, back, b.pipes)
		}
	}
	c.client.CloseWrite()
	r := waitCopy(t, ch)
	want := int64(2<<20 + 201)
	if r.err != nil || r.n != want || moved.Load() != want {
		t.Fatalf("CopyBursts = %d, %v (progress %d); want %d, nil", r.n, r.err, moved.Load(), want)
	}
}

func TestCloseWrite(t *testing.T) {
	a, b := tcpPair(t)
	defer a.Close()
	defer b.Close()
	if _, err := a.Write([]byte("last")); err != nil {
		t.Fatal(err)
	}
	if err := CloseWrite(a); err != nil {
		t.Fatal(err)
	}
	_ = b.SetReadDeadline(time.Now().Add(guard))
	got, err := io.ReadAll(b)
	if err != nil || string(got) != "last" {
		t.Fatalf("peer read %q, %v; want \"last\" then EOF", got, err)
	}
	// The other direction still works after the half-close.
	if _, err := b.Write([]byte("reply")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	_ = a.SetReadDeadline(time.Now().Add(guard))
	if _, err := io.ReadFull(a, buf); err != nil || string(buf) != "reply" {
		t.Fatalf("read after half-close: %q, %v", buf, err)
	}
	a.Close()
	if err := CloseWrite(a); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("CloseWrite on a closed conn = %v, want net.ErrClosed", err)
	}
}

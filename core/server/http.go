package server

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/proto/http"
	"github.com/neosocksd-go/neosocksd/core/route"
)

// The HTTP proxy listener (--http, protocols §5): one request per
// connection, either a CONNECT tunnel or an absolute-URI request forwarded
// to the origin ("proxy_pass"), with WebSocket-style upgrades tunnelled.

// maxForwardHead bounds the rebuilt request head sent upstream (413).
const maxForwardHead = 8192

// httpBufSize is the size of the body copy buffers.
const httpBufSize = 16 << 10

// errHTTPStatus carries the status a failure is answered with.
type errHTTPStatus struct {
	code int
	err  error
}

func (e *errHTTPStatus) Error() string { return fmt.Sprintf("%d: %v", e.code, e.err) }
func (e *errHTTPStatus) Unwrap() error { return e.err }

// httpStatusOf maps an error of the HTTP handler to the status sent to the
// client; 0 means close silently (timeouts, shutdown, I/O errors, and
// anything after response bytes were sent).
func httpStatusOf(err error) int {
	var sent *errSent
	if errors.As(err, &sent) {
		return 0
	}
	var se *errHTTPStatus
	if errors.As(err, &se) {
		return se.code
	}
	var ce *connectError
	if errors.As(err, &ce) {
		switch ce.class {
		case failPolicy:
			return 403
		case failRouter, failTarget:
			return 500
		case failDial:
			return 502
		}
	}
	return 0
}

// inbuf buffers reads from one side of the exchange.
type inbuf struct {
	buf []byte
	off int      // buf[off:] is unconsumed
	src net.Conn // read from src, unless hs is set
	// hs, while set, reads the client through hs.read, which counts the
	// bytes as handshake (ServerRx); proxyPass clears it once client
	// bytes are payload.
	hs     *conn
	notify func() // called after every successful read, may be nil
	// wipe: the head read into buf may carry credentials
	// (Proxy-Authorization), which release clears before the pool lends
	// the buffer to another request (which could not see them: only
	// what it reads is parsed or relayed, buf[off:]).
	wipe bool
}

// inbufSize is the initial size of an inbuf, enough for the usual head.
const inbufSize = 4096

// inbufPool holds the client-side inbufs of the HTTP listener: each is
// lent to one request and returned when serveHTTP ends, so that the
// 4 KiB is not allocated per connection.
var inbufPool = sync.Pool{New: func() any { return &inbuf{buf: make([]byte, 0, inbufSize)} }}

// newInbuf returns an empty buffer reading from src.
func newInbuf(src net.Conn, size int) *inbuf {
	return &inbuf{buf: make([]byte, 0, size), src: src}
}

// clientInbuf lends a pooled buffer reading c's handshake; release
// returns it.
func clientInbuf(c *conn) *inbuf {
	b := inbufPool.Get().(*inbuf)
	b.hs = c
	return b
}

// release returns a buffer from clientInbuf to the pool; nothing may use
// it afterwards. A buffer grown past inbufSize is left to the collector.
func (b *inbuf) release() {
	if b.wipe {
		clear(b.buf[:cap(b.buf)])
	}
	if cap(b.buf) != inbufSize {
		return
	}
	*b = inbuf{buf: b.buf[:0]}
	inbufPool.Put(b)
}

func (b *inbuf) pending() []byte { return b.buf[b.off:] }

func (b *inbuf) consume(n int) { b.off += n }

// fill reads more bytes, compacting or growing the buffer up to limit;
// it fails with errBufFull when limit unconsumed bytes are buffered.
func (b *inbuf) fill(limit int) error {
	if b.off > 0 {
		n := copy(b.buf, b.buf[b.off:])
		b.buf, b.off = b.buf[:n], 0
	}
	if len(b.buf) == cap(b.buf) {
		if cap(b.buf) >= limit {
			return errBufFull
		}
		nb := make([]byte, len(b.buf), min(2*cap(b.buf), limit))
		copy(nb, b.buf)
		b.buf = nb
	}
	var n int
	var err error
	if b.hs != nil {
		n, err = b.hs.read(b.buf[len(b.buf):cap(b.buf)])
	} else {
		n, err = b.src.Read(b.buf[len(b.buf):cap(b.buf)])
	}
	b.buf = b.buf[:len(b.buf)+n]
	if n > 0 {
		if b.notify != nil {
			b.notify()
		}
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

var errBufFull = errors.New("head too large")

// readHead reads and parses a head with parse, growing the buffer up to
// limit.
func readHead[H any](b *inbuf, limit int, parse func([]byte) (H, int, error)) (H, error) {
	for {
		h, n, err := parse(b.pending())
		if err == nil {
			b.consume(n)
			return h, nil
		}
		if !errors.Is(err, http.ErrShort) {
			return h, err
		}
		if err := b.fill(limit); err != nil {
			return h, err
		}
	}
}

// serveHTTP serves one connection of the --http listener.
func (s *Server) serveHTTP(c *conn) { s.serveHTTPFrom(c, nil) }

// serveHTTPFrom is serveHTTP for a connection whose first bytes, read
// already (and counted in ServerRx), are pre: the event loop hands over
// what it does not serve itself this way.
func (s *Server) serveHTTPFrom(c *conn, pre []byte) {
	in := clientInbuf(c)
	defer in.release() // every use of in ends before serveHTTP returns
	in.buf = append(in.buf, pre...)
	head, err := readHead(in, http.MaxHeadSize+1, http.ParseRequest)
	in.wipe = http.MayHaveField(in.buf, "Proxy-Authorization")
	if err != nil {
		if errors.Is(err, http.ErrMalformed) || errors.Is(err, http.ErrTooLarge) {
			s.httpFail(c, &errHTTPStatus{http.Status(err), err})
		}
		return
	}
	p, err := head.Proxy()
	if err != nil {
		s.httpFail(c, &errHTTPStatus{http.Status(err), err})
		return
	}
	c.requestParsed()
	var cred route.Credentials
	if p.HasAuth {
		if u, pw, ok := http.ParseBasic(p.Auth); ok {
			cred = route.Credentials{Username: u, Password: pw, HasUsername: true, HasPassword: true}
		}
	}
	if s.cur.Load().conf.AuthRequired && !cred.HasPassword {
		_ = c.write(http.AppendAuthRequired(nil, time.Now()))
		httpLinger(c.Conn)
		s.log.Debug("http proxy authentication required", "client", c.RemoteAddr().String())
		return
	}
	if p.Connect {
		err = s.httpConnect(c, &p, cred, in)
	} else {
		err = s.proxyPass(c, &p, cred, in)
	}
	if err != nil {
		s.httpFail(c, err)
	}
}

// httpFail is the one place HTTP proxy failures are answered and logged:
// an error page when the error maps to a status and nothing was sent yet.
func (s *Server) httpFail(c *conn, err error) {
	code := httpStatusOf(err)
	if code != 0 {
		_ = c.write(http.AppendErrorPage(nil, code, time.Now()))
		httpLinger(c.Conn)
	}
	var status []slog.Attr
	if code != 0 {
		status = append(status, slog.Int("status", code))
	}
	s.logFailure(c, "http", err, status...)
}

// errSent marks an error that happened after response bytes reached the
// client: the connection is just closed.
type errSent struct{ err error }

func (e *errSent) Error() string { return e.err.Error() }
func (e *errSent) Unwrap() error { return e.err }

// httpLinger half-closes c and discards what the client still sends for
// a short while, so that unread request bytes do not turn the close into
// a reset that destroys the response in flight.
func httpLinger(c net.Conn) {
	cw, ok := c.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return
	}
	_ = c.SetReadDeadline(time.Now().Add(time.Second))
	_, _ = io.CopyN(io.Discard, c, 1<<20)
}

// route asks the router (or the -x chain) for an upstream connection for
// the target string addrText.
func (s *Server) httpRoute(c *conn, addrText string, cred route.Credentials) (net.Conn, error) {
	c.target = addrText
	req := route.Request{Callback: route.Resolve, Addr: addrText, Cred: cred}
	return s.connect(c, req, addr.Addr{})
}

// connectEstablished is http.ConnectEstablished, converted once.
var connectEstablished = []byte(http.ConnectEstablished)

// httpConnect serves CONNECT (protocols §5.3).
func (s *Server) httpConnect(c *conn, p *http.ProxyRequest, cred route.Credentials, in *inbuf) error {
	up, err := s.httpRoute(c, p.Target, cred)
	if err != nil {
		return err
	}
	if err := c.write(connectEstablished); err != nil {
		up.Close()
		return &errSent{err}
	}
	s.relay(c, up, append([]byte(nil), in.pending()...))
	return nil
}

// proxyPass forwards an absolute-URI request (protocols §5.4, §5.5).
func (s *Server) proxyPass(c *conn, p *http.ProxyRequest, cred route.Credentials, in *inbuf) error {
	u, err := http.ParseAbsoluteURI(p.Target)
	if err != nil {
		return &errHTTPStatus{400, err}
	}
	fwd := http.AppendForwardRequest(make([]byte, 0, 1024), p, u)
	if len(fwd) > maxForwardHead {
		return &errHTTPStatus{413, errors.New("rebuilt request head too large")}
	}
	up, err := s.httpRoute(c, u.Addr, cred)
	if err != nil {
		return err
	}
	c.setUpstream(up)
	_ = up.SetWriteDeadline(c.deadline)
	if _, err := up.Write(fwd); err != nil {
		if e := c.phaseError(); e != nil {
			return e
		}
		return &errHTTPStatus{502, fmt.Errorf("write request head: %w", err)}
	}
	s.stats.BytesUp.Add(uint64(len(fwd)))
	if p.Upgrading() {
		_ = up.SetWriteDeadline(time.Time{})
		s.relay(c, up, append([]byte(nil), in.pending()...))
		return nil
	}
	if !c.endHalfOpen() {
		return &connectError{failShutdown, errShutdown}
	}
	c.startSession()
	defer c.endSession()
	x := &exchange{s: s, c: c, up: up, timeout: s.cur.Load().timeout}
	x.arm()
	// From here on client bytes are payload (BytesUp), not handshake.
	in.hs, in.src, in.notify = nil, c.Conn, x.activity
	return x.run(p, in)
}

// exchange is one forwarded request/response pair after the request head
// went upstream.
type exchange struct {
	s       *Server
	c       *conn
	up      net.Conn
	timeout time.Duration

	mu      sync.Mutex
	idle    bool // the inactivity timer is armed
	sent    bool // a response byte reached the client
	aborted bool // the request side failed and answered
}

// arm starts the inactivity timer: both sockets get a deadline -t ahead.
func (x *exchange) arm() {
	x.mu.Lock()
	x.idle = true
	x.mu.Unlock()
	x.activity()
}

// activity re-arms the inactivity timer after bytes moved.
func (x *exchange) activity() {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.idle {
		d := time.Now().Add(x.timeout)
		_ = x.c.Conn.SetDeadline(d)
		_ = x.up.SetDeadline(d)
	}
}

// disarm cancels the inactivity timer once the response body starts.
func (x *exchange) disarm() {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.idle {
		x.idle = false
		_ = x.c.Conn.SetDeadline(time.Time{})
		_ = x.up.SetDeadline(time.Time{})
	}
}

// toClient writes b to the client, counting it as downstream payload.
func (x *exchange) toClient(b []byte) error {
	x.mu.Lock()
	if x.aborted {
		x.mu.Unlock()
		return errors.New("request failed")
	}
	x.sent = true
	x.mu.Unlock()
	n, err := x.c.Conn.Write(b)
	x.s.stats.BytesDown.Add(uint64(n))
	if err == nil {
		x.activity()
	}
	return err
}

// toUpstream writes b upstream, counting it as upstream payload.
func (x *exchange) toUpstream(b []byte) error {
	n, err := x.up.Write(b)
	x.s.stats.BytesUp.Add(uint64(n))
	if err == nil {
		x.activity()
	}
	return err
}

// requestFailed answers a malformed request body with 400 if no response
// byte was sent yet, then ends the exchange.
func (x *exchange) requestFailed(err error) {
	x.mu.Lock()
	if !x.sent && !x.aborted {
		x.aborted = true
		x.mu.Unlock()
		n, _ := x.c.Conn.Write(http.AppendErrorPage(nil, 400, time.Now()))
		x.s.stats.ServerTx.Add(uint64(n))
	} else {
		x.aborted = true
		x.mu.Unlock()
	}
	_ = x.up.SetDeadline(time.Unix(1, 0))
	_ = x.c.Conn.SetReadDeadline(time.Unix(1, 0))
	x.s.log.Debug("http request body", "client", x.c.RemoteAddr().String(), "err", err)
}

func (x *exchange) isAborted() bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.aborted
}

// run streams the request body up and the response down.
func (x *exchange) run(p *http.ProxyRequest, in *inbuf) error {
	reqDone := make(chan error, 1)
	go func() { reqDone <- x.sendBody(p, in) }()
	err := x.receive(p.Method)
	if x.isAborted() {
		<-reqDone
		return &errSent{errors.New("malformed request body")}
	}
	if err != nil {
		// Unblock the request side and wait for it.
		_ = x.c.Conn.SetReadDeadline(time.Unix(1, 0))
		_ = x.up.SetDeadline(time.Unix(1, 0))
		<-reqDone
		return err
	}
	// The response is complete: FIN to the client, then wait for the
	// request side and discard whatever else the client sends.
	if cw, ok := x.c.Conn.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_ = x.c.Conn.SetReadDeadline(time.Now().Add(x.timeout))
	if err := <-reqDone; err == nil {
		// Pipelined requests are not served: discard until EOF.
		_, _ = io.Copy(io.Discard, x.c.Conn)
	}
	return nil
}

// sendBody forwards the request body: chunked re-chunked, Content-Length
// exactly, none otherwise.
func (x *exchange) sendBody(p *http.ProxyRequest, in *inbuf) error {
	switch {
	case p.Chunked:
		err := copyChunked(x.toUpstream, in)
		if errors.Is(err, http.ErrMalformed) {
			x.requestFailed(err)
		}
		return err
	case p.ContentLength > 0:
		return copyLength(x.toUpstream, in, p.ContentLength)
	}
	return nil
}

// receive reads the upstream response, forwards interim responses and
// then the final one with its body.
func (x *exchange) receive(method string) error {
	up := newInbuf(x.up, inbufSize)
	up.notify = x.activity
	for {
		r, err := readHead(up, http.MaxResponseHeadSize, http.ParseResponse)
		if err != nil {
			if x.isSent() {
				return &errSent{err}
			}
			if x.isAborted() {
				return err
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return err // inactivity: close without a status
			}
			if x.c.s.ctx.Err() != nil {
				return err // shutdown
			}
			return &errHTTPStatus{502, fmt.Errorf("upstream response: %w", err)}
		}
		if r.Code/100 == 1 && r.Code != 101 {
			if err := x.toClient(http.AppendResponseHead(nil, &r)); err != nil {
				return &errSent{err}
			}
			continue
		}
		if err := x.toClient(http.AppendResponseHead(nil, &r)); err != nil {
			return &errSent{err}
		}
		x.disarm()
		var berr error
		switch {
		case r.Bodiless(method):
		case r.Chunked:
			berr = copyChunked(x.toClient, up)
		case r.ContentLength >= 0:
			berr = x.copyBody(up, r.ContentLength)
		default:
			berr = x.copyBody(up, -1)
		}
		if berr != nil {
			return &errSent{berr}
		}
		return nil
	}
}

func (x *exchange) isSent() bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.sent
}

// spliceChunk bounds one kernel copy round, so that BytesDown stays
// current during long downloads.
const spliceChunk = 1 << 20

// copyBody copies a response body of n bytes (-1: until EOF) to the
// client: first what is buffered, then, between two TCP sockets, through
// the kernel (splice(2) via TCPConn.ReadFrom).
func (x *exchange) copyBody(up *inbuf, n int64) error {
	if b := up.pending(); len(b) > 0 {
		if n >= 0 && int64(len(b)) > n {
			b = b[:n]
		}
		if err := x.toClient(b); err != nil {
			return err
		}
		up.consume(len(b))
		if n >= 0 {
			n -= int64(len(b))
		}
	}
	if n == 0 {
		return nil
	}
	rf, ok := x.c.Conn.(io.ReaderFrom)
	if _, tcp := x.up.(*net.TCPConn); !ok || !tcp {
		if n < 0 {
			return copyAll(x.toClient, up)
		}
		return copyLength(x.toClient, up, n)
	}
	for {
		chunk := int64(spliceChunk)
		if n >= 0 && n < chunk {
			chunk = n
		}
		k, err := rf.ReadFrom(&io.LimitedReader{R: x.up, N: chunk})
		x.s.stats.BytesDown.Add(uint64(k))
		if n >= 0 {
			n -= k
		}
		switch {
		case err != nil:
			return err
		case n == 0:
			return nil
		case k < chunk:
			if n > 0 {
				return io.ErrUnexpectedEOF
			}
			return nil // EOF of a close-delimited body
		}
	}
}

// copyLength copies exactly n bytes from in to write.
func copyLength(write func([]byte) error, in *inbuf, n int64) error {
	for n > 0 {
		if len(in.pending()) == 0 {
			if err := in.fill(httpBufSize); err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return err
			}
		}
		b := in.pending()
		if int64(len(b)) > n {
			b = b[:n]
		}
		if err := write(b); err != nil {
			return err
		}
		in.consume(len(b))
		n -= int64(len(b))
	}
	return nil
}

// copyAll copies until EOF.
func copyAll(write func([]byte) error, in *inbuf) error {
	for {
		if b := in.pending(); len(b) > 0 {
			if err := write(b); err != nil {
				return err
			}
			in.consume(len(b))
		}
		if err := in.fill(httpBufSize); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

// copyChunked de-chunks from in and re-chunks to write, dropping
// extensions and trailers.
func copyChunked(write func([]byte) error, in *inbuf) error {
	var d http.ChunkedDecoder
	out := make([]byte, 0, httpBufSize+32)
	for !d.Done() {
		if len(in.pending()) == 0 {
			if err := in.fill(httpBufSize); err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return err
			}
		}
		out = out[:0]
		for len(in.pending()) > 0 && !d.Done() {
			payload, n, err := d.Decode(in.pending())
			if err != nil {
				return err
			}
			out = http.AppendChunk(out, payload)
			in.consume(n)
		}
		if d.Done() {
			out = append(out, http.LastChunk...)
		}
		if len(out) > 0 {
			if err := write(out); err != nil {
				return err
			}
		}
	}
	return nil
}

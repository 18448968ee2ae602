package api

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/neosocksd-go/neosocksd/core/stats"
)

// Body limits.
const (
	// MaxBody is the largest Content-Length accepted (413 above it, before
	// any of the body is read), and the largest size a Content-Encoding
	// body may decode to (413 once the decoder passes it).
	MaxBody = 4 << 20
	// maxErrMsgResponse bounds a whole text/plain error response.
	maxErrMsgResponse = 8192
)

// Server is the REST API server. The zero value serves /healthy, /stats
// and /metrics with fresh counters and no ruleset; fields may not change
// once serving started.
type Server struct {
	// Stats are the counters shown by /stats and /metrics and bumped by
	// the API (APIRequest, APISuccess, APIServerRx/Tx).
	Stats *stats.Counters
	// Ruleset returns the active engine; a nil func or a nil result means
	// no ruleset is active.
	Ruleset func() Ruleset
	// Admit is the admission check shared with the proxy listeners,
	// called once per accepted connection. It is expected to count
	// Stats.Accept and Stats.Serve. Nil admits everything, and Serve then
	// counts Accept and Serve itself.
	Admit func() bool
	// Timeout is the connection timer (-t): each request must be received
	// and answered within it, counted from when the server starts waiting
	// for the request. Zero or negative disables it.
	Timeout time.Duration
	// Version is shown in the /stats banner and in neosocksd_build_info.
	Version string
	// Started is the server start time, the origin of Uptime; zero means
	// the time of the first request.
	Started time.Time
	// Logger receives one debug line per request and warnings; nil
	// discards.
	Logger *slog.Logger
	// Token, when not empty, is required by every endpoint but /healthy
	// (see ReadToken and authorized); empty leaves the API open, as the
	// original's.
	Token string
	// MetricsOpen exempts /metrics from the Token, for scrapers that
	// cannot send it.
	MetricsOpen bool

	once  sync.Once
	stats *stats.Counters
	start time.Time
	log   *slog.Logger
	// tokenHash is the SHA-256 of Token, what credentials are compared
	// with.
	tokenHash [sha256.Size]byte

	rateMu sync.Mutex
	rate   rateState
}

func (s *Server) init() {
	s.once.Do(func() {
		s.stats = s.Stats
		if s.stats == nil {
			s.stats = new(stats.Counters)
		}
		s.start = s.Started
		if s.start.IsZero() {
			s.start = time.Now()
		}
		s.log = s.Logger
		if s.log == nil {
			s.log = slog.New(slog.DiscardHandler)
		}
		s.tokenHash = sha256.Sum256([]byte(s.Token))
	})
}

func (s *Server) ruleset() Ruleset {
	if s.Ruleset == nil {
		return nil
	}
	return s.Ruleset()
}

// Serve accepts API connections on ln until ctx is done or ln fails. It
// closes ln and returns only after every connection it started has ended
// (connections are cut when ctx is done). The error is nil after ctx was
// done, the accept error otherwise.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.init()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer ln.Close()
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn("api accept", "err", err)
				t := time.NewTimer(backoff)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					return nil
				}
				continue
			}
			return err
		}
		backoff = 0
		if s.Admit != nil {
			if !s.Admit() {
				c.Close()
				continue
			}
		} else {
			s.stats.Accept.Add(1)
			s.stats.Serve.Add(1)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.ServeConn(ctx, c)
		}()
	}
}

func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// ServeConn serves API requests on c until the client closes, a request
// asks to close, an error page is sent, the timer fires or ctx is done. It
// closes c.
func (s *Server) ServeConn(ctx context.Context, c net.Conn) {
	s.init()
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	cc := &conn{s: s, c: c, buf: make([]byte, 0, 4096)}
	for cc.serveOne(ctx) {
	}
	if cc.linger {
		lingerClose(c)
	}
}

// lingerClose sends FIN and discards what the client still sends for a
// short while, so that closing with unread input does not reset the
// connection before the client has read the response.
func lingerClose(c net.Conn) {
	cw, ok := c.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return
	}
	c.SetReadDeadline(time.Now().Add(time.Second))
	io.CopyN(io.Discard, c, 1<<20)
}

// conn is one API connection: the socket and the bytes read but not yet
// consumed.
type conn struct {
	s   *Server
	c   net.Conn
	buf []byte // unconsumed input
	// linger is set when a response was sent and the connection closes
	// with client input possibly unread.
	linger bool
}

func (cc *conn) read(p []byte) (int, error) {
	n, err := cc.c.Read(p)
	cc.s.stats.APIServerRx.Add(uint64(n))
	return n, err
}

func (cc *conn) write(p []byte) error {
	n, err := cc.c.Write(p)
	cc.s.stats.APIServerTx.Add(uint64(n))
	return err
}

// fill reads more input into cc.buf, growing it up to limit bytes.
func (cc *conn) fill(limit int) error {
	if len(cc.buf) == cap(cc.buf) {
		if cap(cc.buf) >= limit {
			return errors.New("api: buffer full")
		}
		nb := make([]byte, len(cc.buf), min(2*cap(cc.buf), limit))
		copy(nb, cc.buf)
		cc.buf = nb
	}
	n, err := cc.read(cc.buf[len(cc.buf):cap(cc.buf)])
	cc.buf = cc.buf[:len(cc.buf)+n]
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// readBody reads exactly n body bytes, first from what is buffered.
func (cc *conn) readBody(n int64) ([]byte, error) {
	body := make([]byte, n)
	k := copy(body, cc.buf)
	cc.buf = cc.buf[:copy(cc.buf, cc.buf[k:])]
	if k < len(body) {
		m, err := io.ReadFull(readerFunc(cc.read), body[k:])
		if err != nil {
			return nil, err
		}
		k += m
	}
	return body[:k], nil
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// serveOne reads, answers and logs one request; it reports whether the
// connection stays open.
func (cc *conn) serveOne(ctx context.Context) bool {
	s := cc.s
	var deadline time.Time
	if s.Timeout > 0 {
		deadline = time.Now().Add(s.Timeout)
		cc.c.SetDeadline(deadline)
		if ctx.Err() != nil {
			// ctx was done before the line above, whose deadline has
			// replaced the expiry ServeConn set then.
			return false
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	head, err := cc.readHead()
	if err != nil {
		w := &writer{cc: cc, close: true}
		s.fail(w, err)
		if w.status != 0 {
			cc.linger = w.err == nil
			s.log.Debug("api bad request", "client", cc.c.RemoteAddr().String(), "status", w.status, "err", err)
		}
		return false
	}
	s.stats.APIRequest.Add(1)
	t0 := time.Now()
	w := &writer{cc: cc, req: head}
	w.close = !keepAlive(head)
	s.handle(ctx, w)
	if w.err != nil {
		s.log.Debug("api write", "client", cc.c.RemoteAddr().String(), "err", w.err)
		return false
	}
	attrs := []any{"client", cc.c.RemoteAddr().String(), "method", head.Method,
		"target", head.Target, "status", w.status, "dur", time.Since(t0)}
	if w.failure != nil {
		attrs = append(attrs, "err", w.failure)
	}
	s.log.Debug("api request", attrs...)
	cc.linger = w.close
	return !w.close
}

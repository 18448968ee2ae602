//go:build linux

package evloop

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// lookupReq is a name for the resolvers, and the tunnel that waits for it.
type lookupReq struct {
	t    *tunnel
	name string
}

// lookupRes is a resolver's answer, taken back to the loop.
type lookupRes struct {
	t   *tunnel
	ip  netip.Addr
	err error
}

// lookupError is a failed name lookup: SOCKS5 answers it "host
// unreachable", as the daemon does.
type lookupError struct{ err error }

func (e *lookupError) Error() string { return e.err.Error() }
func (e *lookupError) Unwrap() error { return e.err }

// errResolverBusy refuses a request when the resolvers' queue is full.
var errResolverBusy = errors.New("evloop: resolver queue full")

// resolver runs blocking lookups until the queue is closed. It touches
// no tunnel: the answer carries the pointer back, and only the loop
// looks inside.
func (l *loop) resolver() {
	for req := range l.lookups {
		ctx, cancel := context.WithTimeout(l.lookupCtx, time.Duration(l.timeout))
		ip, err := l.lookup(ctx, req.name)
		cancel()
		if err != nil {
			err = &lookupError{fmt.Errorf("resolve %q: %w", req.name, err)}
		}
		l.mu.Lock()
		first := len(l.answers) == 0
		l.answers = append(l.answers, lookupRes{t: req.t, ip: ip, err: err})
		l.mu.Unlock()
		if first {
			l.wake()
		}
	}
}

// takeAnswers drains the eventfd and continues every tunnel whose name
// has resolved. A tunnel that expired meanwhile is closed and skipped.
func (l *loop) takeAnswers() {
	for {
		if _, err := l.sys.Read(l.wakefd, l.wakeBuf[:]); err != nil {
			break
		}
	}
	l.mu.Lock()
	answers := l.answers
	l.answers = l.spare[:0]
	l.mu.Unlock()
	for i, a := range answers {
		answers[i] = lookupRes{}
		if a.t.state != stResolving {
			continue
		}
		if a.err != nil {
			l.fail(a.t, a.err)
			continue
		}
		l.connect(a.t, netip.AddrPortFrom(a.ip, a.t.port))
	}
	l.spare = answers[:0]
}

// Package route is the seam between the proxy and its routing engines: a
// Request says what a client asked for, a Router decides, and a Decision
// says where the connection goes.
//
// The Lua engine (package script), the compiled route table (package dsl)
// and the built-in static router all implement Router. The package holds
// only plain data and must not do I/O itself.
package route

import (
	"context"
	"encoding/binary"
	"net"
	"strings"

	"github.com/neosocksd-go/neosocksd/core/addr"
)

// Callback names the ruleset entry point a request is handed to, chosen by
// the kind of address the client asked for.
type Callback uint8

// The three request callbacks of a neosocksd ruleset.
const (
	Resolve Callback = iota // domain names, SOCKS4A, every HTTP request, -f with a name
	Route                   // IPv4 literals
	Route6                  // IPv6 literals
)

func (c Callback) String() string {
	switch c {
	case Resolve:
		return "resolve"
	case Route:
		return "route"
	case Route6:
		return "route6"
	}
	return "invalid"
}

// ParseCallback returns the callback String names name, and whether
// there is one.
func ParseCallback(name string) (Callback, bool) {
	for _, c := range []Callback{Resolve, Route, Route6} {
		if c.String() == name {
			return c, true
		}
	}
	return 0, false
}

// CallbackFor returns the callback that serves a target of kind k.
func CallbackFor(k addr.Kind) Callback {
	switch k {
	case addr.IPv4:
		return Route
	case addr.IPv6:
		return Route6
	}
	return Resolve
}

// Credentials are what the client authenticated with. Absent values are
// distinct from empty ones: Lua sees nil for an absent user or password.
type Credentials struct {
	Username    string
	Password    string
	HasUsername bool
	HasPassword bool
}

// DialFunc dials target through chain (first hop first, after the -x chain,
// which the dialer prepends itself). The proxy provides one with every
// request for engines that forward actively (Lua's await.forward). Errors
// are *dial.Error values whose text is the dialer taxonomy of the spec.
type DialFunc func(ctx context.Context, target string, chain Chain) (net.Conn, error)

// Request is one routing question.
type Request struct {
	Callback Callback
	// Addr is the requested address in the form the ruleset sees it:
	// "name:port", "a.b.c.d:port" or "[v6]:port" (protocols §10).
	Addr string
	Cred Credentials
	// Dial lets the engine forward actively. On success the engine must
	// answer with a Committed decision carrying the connection; the server
	// then replies to the client and relays. Nil where forwarding is not
	// allowed.
	Dial DialFunc
	// Connect replaces Dial when the request came through
	// AsyncRouter.RouteAsync from an event loop that dials by itself; Dial
	// is then nil. Nil otherwise.
	Connect Connector
}

// Verdict is the outcome of a decision.
type Verdict uint8

// Verdicts. Reject and Error both refuse the request "by policy" (SOCKS5
// reply 01, SOCKS4 5B, HTTP 403); they differ only in what is logged and
// compared by the conformance suite.
const (
	Reject    Verdict = iota // the ruleset returned no destination
	Error                    // the ruleset failed (raised, bad return value, loop)
	Forward                  // dial Target through Chain
	Committed                // the engine already dialed through Request.Dial; use Conn
)

func (v Verdict) String() string {
	switch v {
	case Reject:
		return "reject"
	case Error:
		return "error"
	case Forward:
		return "forward"
	case Committed:
		return "committed"
	}
	return "invalid"
}

// Decision is a router's answer. It is a plain comparable value: two
// engines agree on a request exactly when their decisions are ==.
type Decision struct {
	Verdict Verdict
	Target  string   // Forward: the address to dial, unparsed
	Chain   Chain    // Forward: proxies after the -x chain, first hop first
	Conn    net.Conn // Committed: the connection the engine dialed
	Reason  string   // Error: what went wrong
}

// Direct returns the decision to dial target with no extra proxies.
func Direct(target string) Decision { return Decision{Verdict: Forward, Target: target} }

// Router decides where a request goes. Route blocks until the decision is
// made or ctx is done. It returns an error only when the engine could not
// even start deciding (for HTTP that is a 500 instead of a 403); a refusal
// is a Decision with Verdict Reject or Error.
type Router interface {
	Route(ctx context.Context, req *Request) (Decision, error)
}

// InlineRouter is a Router that can often decide without blocking, so
// that an event loop may ask it on its own goroutine (a route table that
// needs no name lookup). RouteNow decides req exactly as Route would
// (the same Decision, counters and logs), but only if it can do so without
// blocking, waiting for another goroutine, dialing or calling req.Dial;
// otherwise ok is false, nothing was done, and the caller asks Route
// where it may block.
type InlineRouter interface {
	Router
	RouteNow(req *Request) (d Decision, ok bool)
}

// AsyncRouter is a Router that an event loop can ask without blocking
// its goroutine while the decision is made elsewhere (the Lua engine's
// owner goroutine). RouteAsync decides req exactly as Route would (the
// same Decision, counters and logs), except that the answer is handed to
// rcv instead of being returned, and that an engine forwarding actively
// connects through req.Connect instead of req.Dial.
//
// RouteAsync returns at once. When it returns ok false, nothing was
// started or changed (say, the engine's queue is full or it is closing)
// and the caller asks Route where it may block. When it returns ok true,
// rcv.Decided is called exactly once, from a goroutine other than the
// caller's, unless the caller abandons first (Pending.Abandon).
type AsyncRouter interface {
	Router
	RouteAsync(req *Request, rcv Receiver) (p Pending, ok bool)
}

// Receiver takes an asynchronous decision. Decided must not block: an
// event loop posts it to itself. err is what Route would have returned.
// A Committed decision's Conn is nil when the connection is the one the
// request's Connect made (see Connector).
type Receiver interface {
	Decided(d Decision, err error)
}

// Pending is a decision RouteAsync started. The caller (the owner of the
// Receiver) ends it exactly once, with one of the two methods:
//
//   - Release, after it has handled Decided;
//   - Abandon, when it stops waiting (its deadline passed, Shutdown).
//     Abandon true: Decided will not be called, and the request's routine,
//     if it still runs, can no longer forward (as when Route's ctx ends).
//     Abandon false: Decided has been or is being called; the caller
//     waits for it, handles it (closing what a decision it no longer
//     wants carries) and then calls Release.
//
// After that the caller never touches p again: the engine may reuse it.
type Pending interface {
	Abandon() bool
	Release()
}

// Connector is Request.Connect: an event loop's active dial for an engine
// that forwards (Lua's await.forward), the non-blocking counterpart of
// DialFunc. Connect starts dialing target through chain (first hop first,
// after the -x chain, which the dialer prepends) and returns at once;
// result is called exactly once, on the loop's goroutine (never inside
// Connect), with nil when the connection is established or with the
// error DialFunc would have returned in the same case (a *dial.Error; an
// error wrapping context.DeadlineExceeded or context.Canceled when the
// request's deadline passed or the server stopped first).
//
// A connection established this way belongs to the request: the engine
// either answers with a Committed decision whose Conn is nil, which tells
// the loop to relay over it, or with any other decision, and the loop
// closes it. An engine calls Connect at most once at a time per request
// and not after its Decided. A Connect after Abandon returned true is
// answered with the error above; once the loop has exited, on a goroutine
// of its own. Success counts a Connect Latency sample, as DialFunc's; a
// failure counts nothing (it is the engine's business).
type Connector interface {
	Connect(target string, chain Chain, result func(error))
}

// RouterFunc adapts a function to Router.
type RouterFunc func(ctx context.Context, req *Request) (Decision, error)

// Route calls f.
func (f RouterFunc) Route(ctx context.Context, req *Request) (Decision, error) { return f(ctx, req) }

// Static is the router used when no ruleset is loaded: every request goes
// where it asked to (the dialer prepends the -x chain). Its dynamic type is
// comparable, so r == Static tells whether a Router is this one, with no
// panic whatever r holds.
var Static Router = static{}

// static is the type of Static.
type static struct{}

// Route sends the request where it asked to go.
func (static) Route(_ context.Context, req *Request) (Decision, error) {
	return Direct(req.Addr), nil
}

// Chain is an ordered list of proxy URIs, first hop first, kept in a
// comparable form. The hops are stored unparsed; the dialer parses them.
// The zero value is the empty chain.
type Chain struct {
	enc string // each hop as uvarint length + bytes
}

// MakeChain builds a chain from hops, first hop first.
func MakeChain(hops ...string) Chain {
	if len(hops) == 0 {
		return Chain{}
	}
	var b []byte
	for _, h := range hops {
		b = binary.AppendUvarint(b, uint64(len(h)))
		b = append(b, h...)
	}
	return Chain{enc: string(b)}
}

// Len returns the number of hops.
func (c Chain) Len() int {
	n := 0
	for s := c.enc; s != ""; n++ {
		l, k := binary.Uvarint([]byte(s[:min(len(s), binary.MaxVarintLen64)]))
		s = s[k+int(l):]
	}
	return n
}

// Hops returns the hops, first hop first.
func (c Chain) Hops() []string {
	var hops []string
	for s := c.enc; s != ""; {
		l, k := binary.Uvarint([]byte(s[:min(len(s), binary.MaxVarintLen64)]))
		hops = append(hops, s[k:k+int(l)])
		s = s[k+int(l):]
	}
	return hops
}

// String renders the chain for logs and traces: hops joined by ", ".
func (c Chain) String() string { return "[" + strings.Join(c.Hops(), ", ") + "]" }

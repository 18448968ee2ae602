// Package dial connects to targets: directly (with the -4/-6 preference,
// -i netdev and the --block-outbound policy) or through a chain of
// socks4a, socks5 and http proxies. It owns the outbound connection: the
// -x chain, parsed once when the Dialer is built, the hop lists of
// requests (route.Chain, parsed once each and remembered), the handshakes
// (spoken through the codecs of core/proto) and the dialer error taxonomy
// the ruleset sees. Dialer.Dial is the one entry point of every outbound
// connection.
//
// Dial resolves only the first hop (the first proxy, or the target when
// there is none), applies the --block-outbound policy to the address it
// connects to, and then runs one CONNECT handshake per proxy, each naming
// the next hop as given (names are never resolved locally past the first
// hop). Handshakes never read past a reply, and the connection handed back
// is the bare *net.TCPConn whenever no proxy sent bytes ahead, so relaying
// with io.Copy can splice.
//
// Choices where the original's behaviour is unverified: HTTP response heads
// may end lines in CRLF or a bare LF and are limited to 8 KiB; SOCKS5 user
// names and passwords longer than 255 bytes fail the dial with "proxy
// authentication failed" before anything is sent for them; --nameserver
// servers are used round robin, one per query attempt of Go's resolver.
//
// The package does no logging of dial failures (the caller maps and logs
// them once) and never resolves anything but the first hop.
package dial

import (
	"context"
	"errors"
	"syscall"
)

// Kind classifies a dial failure. The String values are the exact texts
// await.forward returns to Lua (protocols §9.5).
type Kind uint8

// Dial error kinds.
const (
	System        Kind = iota + 1 // "system error"
	Resolve                       // "name resolution failed"
	Connect                       // "connection failed"
	ProxyProtocol                 // "proxy protocol error"
	ProxyAuth                     // "proxy authentication failed"
	ProxyRefused                  // "proxy refused connection"
	ProxyRejected                 // "request rejected by proxy"
	UnexpectedEOF                 // "unexpected end of connection"
	Blocked                       // "connection blocked by policy"
	Cancelled                     // "operation cancelled"
	Timeout                       // "timeout"
	InvalidAddr                   // "invalid address"
)

func (k Kind) String() string {
	switch k {
	case System:
		return "system error"
	case Resolve:
		return "name resolution failed"
	case Connect:
		return "connection failed"
	case ProxyProtocol:
		return "proxy protocol error"
	case ProxyAuth:
		return "proxy authentication failed"
	case ProxyRefused:
		return "proxy refused connection"
	case ProxyRejected:
		return "request rejected by proxy"
	case UnexpectedEOF:
		return "unexpected end of connection"
	case Blocked:
		return "connection blocked by policy"
	case Cancelled:
		return "operation cancelled"
	case Timeout:
		return "timeout"
	case InvalidAddr:
		return "invalid address"
	}
	return "unknown error"
}

// Error is a dial failure. Error() returns only the taxonomy text (what Lua
// sees); Detail() adds the cause for logs.
type Error struct {
	Kind  Kind
	Errno syscall.Errno // for System and Connect, when known
	Err   error         // the underlying cause, if any
}

func (e *Error) Error() string { return e.Kind.String() }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Detail returns the taxonomy text followed by the cause.
func (e *Error) Detail() string {
	if e.Err == nil {
		return e.Kind.String()
	}
	return e.Kind.String() + ": " + e.Err.Error()
}

// KindOf returns the Kind of err, or System when err is not an *Error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return System
}

// ctxError is the error for a dial stopped by ctx: Timeout when its
// deadline passed, Cancelled otherwise. cause, if not nil, is kept for logs.
func ctxError(ctx context.Context, cause error) *Error {
	kind := Cancelled
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		kind = Timeout
	}
	if cause == nil {
		cause = ctx.Err()
	}
	return &Error{Kind: kind, Err: cause}
}

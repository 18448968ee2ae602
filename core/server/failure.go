package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"

	"github.com/neosocksd-go/neosocksd/core/config"
	"github.com/neosocksd-go/neosocksd/core/proto/socks4"
	"github.com/neosocksd-go/neosocksd/core/proto/socks5"
)

// Handshake errors the SOCKS handlers return, each logged by
// failureLog at the level the original uses for it.
var (
	// errNotSOCKS: the first byte is neither 4 nor 5.
	errNotSOCKS = errors.New("not a SOCKS4 or SOCKS5 message")
	// errNoMethod: a SOCKS5 greeting offered no method we accept.
	errNoMethod = errors.New("no acceptable authentication method")
	// errCommand: a SOCKS5 command that is unknown or not enabled.
	errCommand = errors.New("command not supported")
)

// failureLog says how a request that failed before (or instead of)
// becoming a session is logged: at which level, with which message,
// and whether the error itself is worth an attribute. ok is false when
// nothing is logged at all (the server is shutting down).
//
// The levels follow the original, so that its default level (4, Notice)
// shows what an operator must see and hides what clients do every day:
//
//   - Error: a dial the proxy made failed (refused, unreachable, a name
//     that does not resolve, blocked by --block-outbound), a target that
//     does not parse, a malformed SOCKS message (unknown version byte,
//     address type, over-long fields, garbage after the header), and a
//     SOCKS5 greeting with no acceptable authentication method.
//   - Warning: a SOCKS command that is not supported or not enabled, and
//     a client that did not finish its handshake within -t.
//   - Debug: everything else — the client closed or reset the connection,
//     the half-open deadline passed while deciding or dialing, an empty
//     SOCKS5 user name or password, and ruleset rejections: the engines log
//     their own failures once, at their own levels ("ruleset error: …" at
//     Error when a Lua callback raises, Warning for an error verdict), so
//     the server does not log them a second time above Debug.
//
// HTTP error pages other than a failed dial (400, 407, 413, …) are Debug
// too: browsers and scanners produce them all day. This is a choice; the
// original's HTTP levels are not specified.
func failureLog(s *Server, parsed bool, err error) (level slog.Level, msg string, ok bool) {
	var ce *connectError
	if errors.As(err, &ce) {
		switch ce.class {
		case failShutdown:
			return 0, "", false
		case failDial:
			return config.LevelError, "dial failed", true
		case failTarget:
			return config.LevelError, "invalid target", true
		case failPolicy:
			return config.LevelDebug, "rejected by ruleset", true
		case failRouter:
			return config.LevelDebug, "ruleset failed", true
		case failTimeout:
			return config.LevelDebug, "timeout", true
		}
	}
	switch {
	case s.ctx.Err() != nil:
		return 0, "", false
	case errors.Is(err, errNoMethod):
		return config.LevelError, "no acceptable authentication method", true
	case errors.Is(err, errCommand), errors.Is(err, socks4.ErrCommand):
		return config.LevelWarning, "command not supported", true
	case errors.Is(err, errNotSOCKS), errors.Is(err, errGarbage),
		errors.Is(err, socks5.ErrVersion), errors.Is(err, socks5.ErrAddrType), errors.Is(err, socks5.ErrTooLong),
		errors.Is(err, socks4.ErrVersion), errors.Is(err, socks4.ErrUserIDTooLong),
		errors.Is(err, socks4.ErrDomainTooLong), errors.Is(err, socks4.ErrRequestTooLong):
		return config.LevelError, "invalid socks message", true
	case errors.Is(err, os.ErrDeadlineExceeded) && !parsed:
		return config.LevelWarning, "handshake timeout", true
	}
	return config.LevelDebug, "request failed", true
}

// logFailure is the one place a request that did not become a session
// is logged: one record with the client address, the requested target
// when it is known, and the reason. proto names the protocol ("socks4",
// "socks5", "http", "forward") and prefixes the message. extra attributes
// (an HTTP status) follow the reason.
func (s *Server) logFailure(c *conn, proto string, err error, extra ...slog.Attr) {
	s.logRequestFailure(proto, err, c.parsed, c.Conn, c.targetString(), extra...)
}

// logRequestFailure is logFailure with what both connection paths know
// of a connection (the event loop has no *conn): whether its request was
// parsed, its client (asked only when the record is logged) and its
// target ("" when unknown).
func (s *Server) logRequestFailure(proto string, err error, parsed bool, client interface{ RemoteAddr() net.Addr }, target string, extra ...slog.Attr) {
	level, msg, ok := failureLog(s, parsed, err)
	if !ok || !s.log.Enabled(context.Background(), level) {
		return
	}
	attrs := make([]slog.Attr, 0, 3+len(extra))
	attrs = append(attrs, slog.String("client", client.RemoteAddr().String()))
	if t := target; t != "" {
		attrs = append(attrs, slog.String("target", t))
	}
	if !errors.Is(err, errNoMethod) {
		attrs = append(attrs, slog.String("err", err.Error()))
	}
	attrs = append(attrs, extra...)
	s.log.LogAttrs(context.Background(), level, proto+": "+msg, attrs...)
}

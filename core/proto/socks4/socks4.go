// Package socks4 is the wire codec of SOCKS4 and SOCKS4A requests and
// replies: parsing what a client sends, building what a server answers, and
// the reverse pair for clients and tests.
//
// It is pure: no net.Conn, no logging, no allocation beyond the values it
// returns. Policy (which commands are served, what a reply code means for a
// session) belongs to the server.
package socks4

import (
	"errors"
	"net/netip"

	"github.com/neosocksd-go/neosocksd/core/addr"
)

// Version is the protocol version byte of a SOCKS4 request.
const Version = 0x04

// ReplyVersion is the version byte of every SOCKS4 reply.
const ReplyVersion = 0x00

// Size limits of the variable-length fields, excluding their NUL.
const (
	MaxUserID = 255
	MaxDomain = 255
)

// headerLen is VN, CD, DSTPORT and DSTIP.
const headerLen = 8

// ReplyLen is the length of every reply.
const ReplyLen = 8

// Command is the CD field of a request.
type Command byte

// Request commands.
const (
	Connect Command = 0x01
	Bind    Command = 0x02
)

func (c Command) String() string {
	switch c {
	case Connect:
		return "connect"
	case Bind:
		return "bind"
	}
	return "unknown command"
}

// Reply is the CD field of a reply.
type Reply byte

// Reply codes.
const (
	Granted        Reply = 0x5A
	Rejected       Reply = 0x5B
	NoIdentd       Reply = 0x5C
	IdentdMismatch Reply = 0x5D
)

func (r Reply) String() string {
	switch r {
	case Granted:
		return "request granted"
	case Rejected:
		return "request rejected or failed"
	case NoIdentd:
		return "identd unreachable"
	case IdentdMismatch:
		return "identd user mismatch"
	}
	return "unknown reply"
}

// Parse errors.
var (
	ErrShort          = errors.New("socks4: short buffer")
	ErrVersion        = errors.New("socks4: bad version")
	ErrCommand        = errors.New("socks4: command not supported")
	ErrUserIDTooLong  = errors.New("socks4: user id too long")
	ErrDomainTooLong  = errors.New("socks4: domain name too long")
	ErrRequestTooLong = errors.New("socks4: request too long")
)

// Request is a parsed SOCKS4 or SOCKS4A request.
type Request struct {
	Command Command
	// Addr is an IPv4 target for SOCKS4, a domain target for SOCKS4A.
	Addr addr.Addr
	// UserID is the USERID field, possibly empty.
	UserID string
}

// Is4A reports whether ip (DSTIP) announces a SOCKS4A domain: 0.0.0.x, x≠0.
func Is4A(ip [4]byte) bool { return ip[0] == 0 && ip[1] == 0 && ip[2] == 0 && ip[3] != 0 }

// ParseRequest parses a SOCKS4/4A request from the start of b. It returns
// the request and the number of bytes consumed, or ErrShort while b is
// incomplete. A command other than CONNECT is reported as ErrCommand as
// soon as the fixed header is known (with the request's Command set), so a
// server can answer before the rest arrives. Bytes after the request are
// not looked at.
func ParseRequest(b []byte) (Request, int, error) { return ParseRequestWith(b, nil) }

// ParseRequestWith is ParseRequest with the user ID's and the domain's
// strings made by str from their bytes, so that a caller can hand out
// strings it holds already (an event loop's intern table) instead of new
// ones. str must return a string equal to its argument and must not keep
// the argument, which is part of b; nil is a plain conversion.
func ParseRequestWith(b []byte, str func([]byte) string) (Request, int, error) {
	if str == nil {
		str = convert
	}
	var req Request
	if len(b) < 1 {
		return req, 0, ErrShort
	}
	if b[0] != Version {
		return req, 0, ErrVersion
	}
	if len(b) < headerLen+1 {
		return req, 0, ErrShort
	}
	req.Command = Command(b[1])
	if req.Command != Connect {
		return req, 0, ErrCommand
	}
	port := uint16(b[2])<<8 | uint16(b[3])
	ip := [4]byte{b[4], b[5], b[6], b[7]}
	user, n, err := cstring(b[headerLen:], MaxUserID, ErrUserIDTooLong)
	if err != nil {
		return req, 0, err
	}
	off := headerLen + n
	if !Is4A(ip) {
		req.Addr = addr.FromAddrPort(netip.AddrPortFrom(netip.AddrFrom4(ip), port))
		req.UserID = str(user)
		return req, off, nil
	}
	name, n, err := cstring(b[off:], MaxDomain, ErrDomainTooLong)
	if err != nil {
		return req, 0, err
	}
	req.Addr = addr.FromDomain(str(name), port)
	req.UserID = str(user)
	return req, off + n, nil
}

// convert is ParseRequestWith's str when none is given.
func convert(b []byte) string { return string(b) }

// cstring returns the bytes before the first NUL of b and the count
// including the NUL. Without a NUL it is ErrShort, or tooLong once more
// than max bytes are present.
func cstring(b []byte, max int, tooLong error) ([]byte, int, error) {
	for i := 0; i < len(b); i++ {
		if b[i] == 0 {
			return b[:i], i + 1, nil
		}
		if i >= max {
			return nil, 0, tooLong
		}
	}
	return nil, 0, ErrShort
}

// AppendReply appends the 8-byte reply a neosocksd server sends: version
// 00, the code, and a zero port and address.
func AppendReply(dst []byte, r Reply) []byte {
	return append(dst, ReplyVersion, byte(r), 0, 0, 0, 0, 0, 0)
}

// AppendRequest appends a request for req, the client side of
// ParseRequest: an IPv4 target is sent as SOCKS4, anything else as SOCKS4A
// with DSTIP 0.0.0.255, the marker neosocksd's client sends (an IPv6
// target travels as its text form). It returns ErrUserIDTooLong or
// ErrDomainTooLong when a field does not fit, or ErrRequestTooLong for a
// field holding a NUL.
func AppendRequest(dst []byte, req Request) ([]byte, error) {
	if len(req.UserID) > MaxUserID {
		return dst, ErrUserIDTooLong
	}
	if hasNUL(req.UserID) {
		return dst, ErrRequestTooLong
	}
	a := req.Addr
	port := a.Port()
	if a.Kind() == addr.IPv4 {
		ip := a.IP().As4()
		dst = append(dst, Version, byte(req.Command), byte(port>>8), byte(port))
		dst = append(dst, ip[:]...)
		dst = append(dst, req.UserID...)
		return append(dst, 0), nil
	}
	host := a.Host()
	if len(host) > MaxDomain {
		return dst, ErrDomainTooLong
	}
	if hasNUL(host) {
		return dst, ErrRequestTooLong
	}
	dst = append(dst, Version, byte(req.Command), byte(port>>8), byte(port), 0, 0, 0, 0xff)
	dst = append(dst, req.UserID...)
	dst = append(dst, 0)
	dst = append(dst, host...)
	return append(dst, 0), nil
}

func hasNUL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return true
		}
	}
	return false
}

// ParseReply parses the 8-byte reply at the start of b; the version byte
// must be 00. It returns the code and the bytes consumed, always ReplyLen.
// While b is short it returns ErrShort with n = ReplyLen, the length b
// must reach, so that a client reads exactly the reply and nothing after
// it. Bytes after the reply are not looked at.
func ParseReply(b []byte) (r Reply, n int, err error) {
	if len(b) < ReplyLen {
		return 0, ReplyLen, ErrShort
	}
	if b[0] != ReplyVersion {
		return 0, 0, ErrVersion
	}
	return Reply(b[1]), ReplyLen, nil
}

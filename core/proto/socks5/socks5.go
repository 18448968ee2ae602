// Package socks5 is the wire codec of SOCKS5 (RFC 1928) and its
// username/password sub-negotiation (RFC 1929): method selection, requests,
// replies and the UDP ASSOCIATE datagram header, in both directions.
//
// It is pure: no net.Conn, no logging, no allocation beyond the values it
// returns. Which methods or commands a server accepts is the server's
// business, not this package's.
package socks5

import (
	"errors"
	"net/netip"
	"syscall"

	"github.com/neosocksd-go/neosocksd/core/addr"
)

// Version is the protocol version byte.
const Version = 0x05

// AuthVersion is the version byte of the RFC 1929 sub-negotiation.
const AuthVersion = 0x01

// MaxFieldLen bounds every length-prefixed field (methods, user, password,
// domain).
const MaxFieldLen = 255

// Method is an authentication method.
type Method byte

// Authentication methods.
const (
	NoAuth       Method = 0x00
	GSSAPI       Method = 0x01
	UserPass     Method = 0x02
	NoAcceptable Method = 0xFF
)

func (m Method) String() string {
	switch m {
	case NoAuth:
		return "no authentication required"
	case GSSAPI:
		return "gssapi"
	case UserPass:
		return "username/password"
	case NoAcceptable:
		return "no acceptable methods"
	}
	return "unknown method"
}

// Command is the CMD field of a request.
type Command byte

// Request commands.
const (
	Connect      Command = 0x01
	Bind         Command = 0x02
	UDPAssociate Command = 0x03
)

func (c Command) String() string {
	switch c {
	case Connect:
		return "connect"
	case Bind:
		return "bind"
	case UDPAssociate:
		return "udp associate"
	}
	return "unknown command"
}

// AddrType is the ATYP field.
type AddrType byte

// Address types.
const (
	ATypIPv4   AddrType = 0x01
	ATypDomain AddrType = 0x03
	ATypIPv6   AddrType = 0x04
)

// Reply is the REP field of a reply.
type Reply byte

// Reply codes.
const (
	Succeeded               Reply = 0x00
	GeneralFailure          Reply = 0x01
	NotAllowed              Reply = 0x02
	NetworkUnreachable      Reply = 0x03
	HostUnreachable         Reply = 0x04
	ConnectionRefused       Reply = 0x05
	TTLExpired              Reply = 0x06
	CommandNotSupported     Reply = 0x07
	AddressTypeNotSupported Reply = 0x08
)

func (r Reply) String() string {
	switch r {
	case Succeeded:
		return "succeeded"
	case GeneralFailure:
		return "general SOCKS server failure"
	case NotAllowed:
		return "connection not allowed by ruleset"
	case NetworkUnreachable:
		return "network unreachable"
	case HostUnreachable:
		return "host unreachable"
	case ConnectionRefused:
		return "connection refused"
	case TTLExpired:
		return "TTL expired"
	case CommandNotSupported:
		return "command not supported"
	case AddressTypeNotSupported:
		return "address type not supported"
	}
	return "unknown reply"
}

// ConnectReply is the reply to a CONNECT whose connect(2) failed with
// errno: the three errors the protocol names a code for, and a general
// failure for the rest.
func ConnectReply(errno syscall.Errno) Reply {
	switch errno {
	case syscall.ENETUNREACH:
		return NetworkUnreachable
	case syscall.EHOSTUNREACH:
		return HostUnreachable
	case syscall.ECONNREFUSED:
		return ConnectionRefused
	}
	return GeneralFailure
}

// Parse errors.
var (
	ErrShort    = errors.New("socks5: short buffer")
	ErrVersion  = errors.New("socks5: bad version")
	ErrAddrType = errors.New("socks5: address type not supported")
	ErrTooLong  = errors.New("socks5: field too long")
)

// ParseMethods parses the client greeting VER NMETHODS METHODS. The
// returned slice aliases b.
func ParseMethods(b []byte) (methods []byte, n int, err error) {
	if len(b) < 1 {
		return nil, 0, ErrShort
	}
	if b[0] != Version {
		return nil, 0, ErrVersion
	}
	if len(b) < 2 {
		return nil, 0, ErrShort
	}
	n = 2 + int(b[1])
	if len(b) < n {
		return nil, 0, ErrShort
	}
	return b[2:n], n, nil
}

// AppendMethods appends a client greeting offering methods.
func AppendMethods(dst []byte, methods ...Method) []byte {
	dst = append(dst, Version, byte(len(methods)))
	for _, m := range methods {
		dst = append(dst, byte(m))
	}
	return dst
}

// AppendMethodReply appends the server's method choice.
func AppendMethodReply(dst []byte, m Method) []byte { return append(dst, Version, byte(m)) }

// ParseUserPass parses an RFC 1929 request VER ULEN UNAME PLEN PASSWD. A
// version other than 01 is ErrVersion. Empty fields are returned as such.
func ParseUserPass(b []byte) (user, pass string, n int, err error) {
	if len(b) < 1 {
		return "", "", 0, ErrShort
	}
	if b[0] != AuthVersion {
		return "", "", 0, ErrVersion
	}
	if len(b) < 2 {
		return "", "", 0, ErrShort
	}
	ulen := int(b[1])
	if len(b) < 2+ulen+1 {
		return "", "", 0, ErrShort
	}
	plen := int(b[2+ulen])
	n = 3 + ulen + plen
	if len(b) < n {
		return "", "", 0, ErrShort
	}
	return string(b[2 : 2+ulen]), string(b[3+ulen : n]), n, nil
}

// AppendUserPass appends an RFC 1929 request.
func AppendUserPass(dst []byte, user, pass string) ([]byte, error) {
	if len(user) > MaxFieldLen || len(pass) > MaxFieldLen {
		return dst, ErrTooLong
	}
	dst = append(dst, AuthVersion, byte(len(user)))
	dst = append(dst, user...)
	dst = append(dst, byte(len(pass)))
	return append(dst, pass...), nil
}

// AppendAuthReply appends an RFC 1929 reply: status 00 is success.
func AppendAuthReply(dst []byte, status byte) []byte { return append(dst, AuthVersion, status) }

// Request is a parsed SOCKS5 request.
type Request struct {
	Command Command
	Addr    addr.Addr
}

// ParseRequest parses VER CMD RSV ATYP DST.ADDR DST.PORT from the start of
// b. It returns the request and the number of bytes consumed, or ErrShort
// if b is incomplete. The command is not checked. An unknown address type
// is ErrAddrType as soon as the fixed header is there. A domain is kept
// byte for byte and may be empty.
func ParseRequest(b []byte) (Request, int, error) { return ParseRequestWith(b, nil) }

// ParseRequestWith is ParseRequest with a domain's string made by str
// from the domain's bytes, so that a caller can hand out a string it
// holds already (an event loop's intern table) instead of a new one. str
// must return a string equal to its argument and must not keep the
// argument, which is part of b; nil is a plain conversion.
func ParseRequestWith(b []byte, str func([]byte) string) (Request, int, error) {
	if len(b) < 1 {
		return Request{}, 0, ErrShort
	}
	if b[0] != Version {
		return Request{}, 0, ErrVersion
	}
	if len(b) < 4 {
		return Request{}, 0, ErrShort
	}
	a, n, err := parseAddr(b[3:], str)
	if err != nil {
		return Request{}, 0, err
	}
	return Request{Command: Command(b[1]), Addr: a}, 3 + n, nil
}

// parseAddr parses ATYP ADDR PORT; a domain's string is str's (nil:
// string conversion).
func parseAddr(b []byte, str func([]byte) string) (addr.Addr, int, error) {
	if len(b) < 1 {
		return addr.Addr{}, 0, ErrShort
	}
	switch AddrType(b[0]) {
	case ATypIPv4:
		if len(b) < 1+4+2 {
			return addr.Addr{}, 0, ErrShort
		}
		ip := netip.AddrFrom4([4]byte(b[1:5]))
		return addr.FromAddrPort(netip.AddrPortFrom(ip, port(b[5:]))), 7, nil
	case ATypIPv6:
		if len(b) < 1+16+2 {
			return addr.Addr{}, 0, ErrShort
		}
		ip := netip.AddrFrom16([16]byte(b[1:17]))
		return addr.FromAddrPort(netip.AddrPortFrom(ip, port(b[17:]))), 19, nil
	case ATypDomain:
		if len(b) < 2 {
			return addr.Addr{}, 0, ErrShort
		}
		l := int(b[1])
		if len(b) < 2+l+2 {
			return addr.Addr{}, 0, ErrShort
		}
		name := b[2 : 2+l]
		if str != nil {
			return addr.FromDomain(str(name), port(b[2+l:])), 2 + l + 2, nil
		}
		return addr.FromDomain(string(name), port(b[2+l:])), 2 + l + 2, nil
	}
	return addr.Addr{}, 0, ErrAddrType
}

func port(b []byte) uint16 { return uint16(b[0])<<8 | uint16(b[1]) }

// appendAddr appends ATYP ADDR PORT. The zero Addr is 0.0.0.0:0. An IPv4
// address held as IPv4-mapped IPv6 stays IPv6.
func appendAddr(dst []byte, a addr.Addr) ([]byte, error) {
	p := a.Port()
	switch a.Kind() {
	case addr.IPv4:
		ip := a.IP().As4()
		dst = append(dst, byte(ATypIPv4))
		dst = append(dst, ip[:]...)
	case addr.IPv6:
		ip := a.IP().As16()
		dst = append(dst, byte(ATypIPv6))
		dst = append(dst, ip[:]...)
	case addr.Domain:
		name := a.Name()
		if len(name) > MaxFieldLen {
			return dst, ErrTooLong
		}
		dst = append(dst, byte(ATypDomain), byte(len(name)))
		dst = append(dst, name...)
	default:
		dst = append(dst, byte(ATypIPv4), 0, 0, 0, 0)
		p = 0
	}
	return append(dst, byte(p>>8), byte(p)), nil
}

// AppendRequest appends a request, the client side of ParseRequest.
func AppendRequest(dst []byte, req Request) ([]byte, error) {
	out, err := appendAddr(append(dst, Version, byte(req.Command), 0), req.Addr)
	if err != nil {
		return dst, err
	}
	return out, nil
}

// AppendReply appends VER REP RSV ATYP BND.ADDR BND.PORT. A zero bound
// address is sent as IPv4 0.0.0.0:0, the failure form. A domain longer
// than MaxFieldLen is sent as 0.0.0.0:0 too.
func AppendReply(dst []byte, r Reply, bound addr.Addr) []byte {
	out, err := appendAddr(append(dst, Version, byte(r), 0), bound)
	if err != nil {
		out, _ = appendAddr(append(dst, Version, byte(r), 0), addr.Addr{})
	}
	return out
}

// ParseReply parses a reply, the client side of AppendReply. It returns
// the code, BND.ADDR and the bytes consumed.
//
// A client must not read past the reply, so while b is short the error is
// ErrShort and n is the length b must reach before another call can make
// progress (4 for the fixed header, then 5 for a domain's length byte,
// then the whole reply). Once the fixed header is there, r is its code even
// when the address is still short or of an unknown type, so a failure can
// be reported without waiting for BND.ADDR.
func ParseReply(b []byte) (r Reply, bound addr.Addr, n int, err error) {
	if len(b) < 1 {
		return 0, addr.Addr{}, 4, ErrShort
	}
	if b[0] != Version {
		return 0, addr.Addr{}, 0, ErrVersion
	}
	if len(b) < 4 {
		return 0, addr.Addr{}, 4, ErrShort
	}
	r = Reply(b[1])
	a, k, err := parseAddr(b[3:], nil)
	if err == ErrShort {
		return r, addr.Addr{}, 3 + addrNeed(b[3:]), err
	}
	if err != nil {
		return r, addr.Addr{}, 0, err
	}
	return r, a, 3 + k, nil
}

// addrNeed is the length ATYP ADDR PORT at the start of b must have, as
// far as b tells: a domain's length byte first, then the whole field. b
// holds at least ATYP, of a known type.
func addrNeed(b []byte) int {
	switch AddrType(b[0]) {
	case ATypIPv4:
		return 1 + 4 + 2
	case ATypIPv6:
		return 1 + 16 + 2
	}
	if len(b) < 2 {
		return 2
	}
	return 2 + int(b[1]) + 2
}

// ParseMethodReply parses the server's method choice VER METHOD, the
// client side of AppendMethodReply. While b is short it returns ErrShort
// with n = 2, the length b must reach. Whether the method was offered is
// the caller's business.
func ParseMethodReply(b []byte) (m Method, n int, err error) {
	if len(b) < 2 {
		return 0, 2, ErrShort
	}
	if b[0] != Version {
		return 0, 0, ErrVersion
	}
	return Method(b[1]), 2, nil
}

// ParseAuthReply parses an RFC 1929 reply VER STATUS, the client side of
// AppendAuthReply; status 00 is success. While b is short it returns
// ErrShort with n = 2. A version other than 01 is ErrVersion.
func ParseAuthReply(b []byte) (status byte, n int, err error) {
	if len(b) < 2 {
		return 0, 2, ErrShort
	}
	if b[0] != AuthVersion {
		return 0, 0, ErrVersion
	}
	return b[1], 2, nil
}

// UDPHeader is the header of a UDP ASSOCIATE datagram.
type UDPHeader struct {
	Frag byte // 0: standalone; else fragment number, 0x80 marks the last
	Addr addr.Addr
}

// ParseUDPHeader parses RSV(2) FRAG ATYP ADDR PORT and returns the header
// and its length; the payload follows.
func ParseUDPHeader(b []byte) (UDPHeader, int, error) {
	if len(b) < 4 {
		return UDPHeader{}, 0, ErrShort
	}
	a, n, err := parseAddr(b[3:], nil)
	if err != nil {
		return UDPHeader{}, 0, err
	}
	return UDPHeader{Frag: b[2], Addr: a}, 3 + n, nil
}

// AppendUDPHeader appends a datagram header.
func AppendUDPHeader(dst []byte, h UDPHeader) ([]byte, error) {
	out, err := appendAddr(append(dst, 0, 0, h.Frag), h.Addr)
	if err != nil {
		return dst, err
	}
	return out, nil
}

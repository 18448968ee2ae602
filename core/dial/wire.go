package dial

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"

	"github.com/neosocksd-go/neosocksd/core/addr"
)

// This file holds the client side of the three proxy protocols as pure
// functions: request builders that append to a buffer and reply parsers
// that never read past the reply. The parsers return errShort with the
// total number of bytes they need when the input is incomplete, so the
// caller can read exactly that much and no more.

// errShort reports an incomplete reply.
var errShort = errors.New("dial: short reply")

// maxHTTPHead is the longest HTTP response head accepted from a proxy.
const maxHTTPHead = 8192

func protoErr(format string, args ...any) *Error {
	return &Error{Kind: ProxyProtocol, Err: fmt.Errorf(format, args...)}
}

// appendHTTPConnect appends an HTTP CONNECT request for target: the request
// line, a Basic Proxy-Authorization header when the proxy URI had a user,
// and the blank line. There is no Host header.
func appendHTTPConnect(dst []byte, target addr.Addr, p *addr.Proxy) []byte {
	dst = append(dst, "CONNECT "...)
	dst = append(dst, target.String()...)
	dst = append(dst, " HTTP/1.1\r\n"...)
	if p.HasUser {
		cred := make([]byte, 0, len(p.User)+1+len(p.Password))
		cred = append(cred, p.User...)
		cred = append(cred, ':')
		cred = append(cred, p.Password...)
		dst = append(dst, "Proxy-Authorization: Basic "...)
		dst = base64.StdEncoding.AppendEncode(dst, cred)
		dst = append(dst, "\r\n"...)
	}
	return append(dst, "\r\n"...)
}

// parseHTTPHead parses the head of an HTTP response to CONNECT. When the
// status line is complete, status is its code even if the rest of the head
// is still missing (err == errShort), so a refusal can be reported without
// waiting for the headers. n is the length of the whole head including the
// blank line. The status line must read "HTTP/1.<digit> <3 digits>"
// followed by a space or the line end; header lines are skipped unparsed.
// Lines may end in CRLF or a bare LF.
func parseHTTPHead(b []byte) (status, n int, err error) {
	const prefix = "HTTP/1."
	eol := -1
	for i, c := range b {
		if c == '\n' {
			eol = i
			break
		}
	}
	line := b
	if eol >= 0 {
		line = b[:eol]
	}
	// Reject garbage early, before the whole line has arrived.
	for i := 0; i < len(line) && i < len(prefix); i++ {
		if line[i] != prefix[i] {
			return 0, 0, protoErr("http: bad status line %q", clip(line))
		}
	}
	if eol < 0 {
		if len(b) >= maxHTTPHead {
			return 0, 0, protoErr("http: status line too long")
		}
		return 0, 0, errShort
	}
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	if len(line) < len(prefix)+5 || !isDigit(line[len(prefix)]) || line[len(prefix)+1] != ' ' {
		return 0, 0, protoErr("http: bad status line %q", clip(line))
	}
	code := line[len(prefix)+2:]
	if len(code) < 3 || !isDigit(code[0]) || !isDigit(code[1]) || !isDigit(code[2]) ||
		(len(code) > 3 && code[3] != ' ') {
		return 0, 0, protoErr("http: bad status line %q", clip(line))
	}
	status = int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0')
	// Find the empty line: a '\n' followed by "\r\n" or "\n".
	for i := eol; i < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		if i+1 < len(b) && b[i+1] == '\n' {
			return status, i + 2, nil
		}
		if i+2 < len(b) && b[i+1] == '\r' && b[i+2] == '\n' {
			return status, i + 3, nil
		}
	}
	if len(b) >= maxHTTPHead {
		return status, 0, protoErr("http: response head too long")
	}
	return status, 0, errShort
}

// httpStatusError maps a non-200 CONNECT response to the taxonomy.
func httpStatusError(status int) *Error {
	err := fmt.Errorf("http: CONNECT answered with status %d", status)
	switch status {
	case 407:
		return &Error{Kind: ProxyAuth, Err: err}
	case 403:
		return &Error{Kind: ProxyRejected, Err: err}
	case 502, 503:
		return &Error{Kind: ProxyRefused, Err: err}
	}
	return &Error{Kind: ProxyProtocol, Err: err}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// clip shortens untrusted bytes for error messages.
func clip(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

// SOCKS4 wire values.
const (
	socks4Version   = 0x04
	socks4Connect   = 0x01
	socks4Granted   = 0x5a
	socks4Rejected  = 0x5b
	socks4ReplyLen  = 8
	socks4ReplyVers = 0x00
)

// appendSOCKS4Connect appends a SOCKS4 CONNECT request for target. IPv4
// targets use plain SOCKS4; domain and IPv6 targets use the SOCKS4A form
// (IP 0.0.0.255 followed by the host name, IPv6 in its textual form).
func appendSOCKS4Connect(dst []byte, target addr.Addr, userid string) []byte {
	port := target.Port()
	dst = append(dst, socks4Version, socks4Connect, byte(port>>8), byte(port))
	if target.Kind() == addr.IPv4 {
		ip := target.IP().As4()
		dst = append(dst, ip[:]...)
		dst = append(dst, userid...)
		return append(dst, 0)
	}
	dst = append(dst, 0, 0, 0, 0xff)
	dst = append(dst, userid...)
	dst = append(dst, 0)
	dst = append(dst, target.Host()...)
	return append(dst, 0)
}

// parseSOCKS4Reply parses the 8-byte SOCKS4 reply.
func parseSOCKS4Reply(b []byte) (n int, err error) {
	if len(b) < socks4ReplyLen {
		return socks4ReplyLen, errShort
	}
	if b[0] != socks4ReplyVers {
		return 0, protoErr("socks4: reply version %#02x", b[0])
	}
	switch b[1] {
	case socks4Granted:
		return socks4ReplyLen, nil
	case socks4Rejected:
		return 0, &Error{Kind: ProxyRefused, Err: errors.New("socks4: request rejected or failed (0x5b)")}
	}
	return 0, protoErr("socks4: reply code %#02x", b[1])
}

// SOCKS5 wire values.
const (
	socks5Version    = 0x05
	socks5NoAuth     = 0x00
	socks5UserPass   = 0x02
	socks5NoMethod   = 0xff
	socks5Connect    = 0x01
	socks5AuthVer    = 0x01
	socks5ATYPIPv4   = 0x01
	socks5ATYPDomain = 0x03
	socks5ATYPIPv6   = 0x04
)

// appendSOCKS5Greeting appends the method selection message: no
// authentication, plus username/password when credentials are offered.
func appendSOCKS5Greeting(dst []byte, withAuth bool) []byte {
	if withAuth {
		return append(dst, socks5Version, 2, socks5NoAuth, socks5UserPass)
	}
	return append(dst, socks5Version, 1, socks5NoAuth)
}

// parseSOCKS5Method parses the method selection reply. withAuth says
// whether username/password was offered.
func parseSOCKS5Method(b []byte, withAuth bool) (method byte, n int, err error) {
	if len(b) < 2 {
		return 0, 2, errShort
	}
	if b[0] != socks5Version {
		return 0, 0, protoErr("socks5: method reply version %#02x", b[0])
	}
	switch m := b[1]; {
	case m == socks5NoAuth, m == socks5UserPass && withAuth:
		return m, 2, nil
	case m == socks5NoMethod:
		return 0, 0, &Error{Kind: ProxyAuth, Err: errors.New("socks5: no acceptable authentication method")}
	default:
		return 0, 0, protoErr("socks5: server chose unoffered method %#02x", m)
	}
}

// appendSOCKS5Auth appends an RFC 1929 username/password request.
func appendSOCKS5Auth(dst []byte, user, pass string) ([]byte, error) {
	if len(user) > 255 || len(pass) > 255 {
		return dst, &Error{Kind: ProxyAuth, Err: errors.New("socks5: user name or password longer than 255 bytes")}
	}
	dst = append(dst, socks5AuthVer, byte(len(user)))
	dst = append(dst, user...)
	dst = append(dst, byte(len(pass)))
	return append(dst, pass...), nil
}

// parseSOCKS5AuthReply parses the RFC 1929 status reply; anything but
// "01 00" is an authentication failure.
func parseSOCKS5AuthReply(b []byte) (n int, err error) {
	if len(b) < 2 {
		return 2, errShort
	}
	if b[0] != socks5AuthVer || b[1] != 0 {
		return 0, &Error{Kind: ProxyAuth, Err: fmt.Errorf("socks5: authentication reply %#02x %#02x", b[0], b[1])}
	}
	return 2, nil
}

// appendSOCKS5Connect appends a CONNECT request with the ATYP of target's
// kind.
func appendSOCKS5Connect(dst []byte, target addr.Addr) []byte {
	dst = append(dst, socks5Version, socks5Connect, 0)
	switch target.Kind() {
	case addr.IPv4:
		ip := target.IP().As4()
		dst = append(dst, socks5ATYPIPv4)
		dst = append(dst, ip[:]...)
	case addr.IPv6:
		ip := target.IP().As16()
		dst = append(dst, socks5ATYPIPv6)
		dst = append(dst, ip[:]...)
	default:
		name := target.Name()
		dst = append(dst, socks5ATYPDomain, byte(len(name)))
		dst = append(dst, name...)
	}
	port := target.Port()
	return append(dst, byte(port>>8), byte(port))
}

// socks5ReplyText names SOCKS5 reply codes for error details.
func socks5ReplyText(rep byte) string {
	switch rep {
	case 0x01:
		return "general failure"
	case 0x02:
		return "connection not allowed by ruleset"
	case 0x03:
		return "network unreachable"
	case 0x04:
		return "host unreachable"
	case 0x05:
		return "connection refused"
	case 0x06:
		return "TTL expired"
	case 0x07:
		return "command not supported"
	case 0x08:
		return "address type not supported"
	}
	return "unknown code " + strconv.Itoa(int(rep))
}

// parseSOCKS5Reply parses a CONNECT reply, BND.ADDR of any ATYP included.
// A failure code is reported as soon as the first four bytes are there.
func parseSOCKS5Reply(b []byte) (n int, err error) {
	if len(b) < 4 {
		return 4, errShort
	}
	if b[0] != socks5Version {
		return 0, protoErr("socks5: reply version %#02x", b[0])
	}
	if rep := b[1]; rep != 0 {
		err := fmt.Errorf("socks5: reply %#02x (%s)", rep, socks5ReplyText(rep))
		switch rep {
		case 0x02:
			return 0, &Error{Kind: ProxyRejected, Err: err}
		case 0x05:
			return 0, &Error{Kind: ProxyRefused, Err: err}
		}
		return 0, &Error{Kind: ProxyProtocol, Err: err}
	}
	switch b[3] {
	case socks5ATYPIPv4:
		n = 4 + 4 + 2
	case socks5ATYPIPv6:
		n = 4 + 16 + 2
	case socks5ATYPDomain:
		if len(b) < 5 {
			return 5, errShort
		}
		n = 4 + 1 + int(b[4]) + 2
	default:
		return 0, protoErr("socks5: reply address type %#02x", b[3])
	}
	if len(b) < n {
		return n, errShort
	}
	return n, nil
}

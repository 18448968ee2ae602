package dial

import (
	"errors"
	"fmt"

	"github.com/neosocksd-go/neosocksd/core/proto/http"
	"github.com/neosocksd-go/neosocksd/core/proto/socks4"
	"github.com/neosocksd-go/neosocksd/core/proto/socks5"
)

// This file turns the replies of upstream proxies, parsed by the codecs of
// core/proto, into the dialer's error taxonomy (protocols §9.4). Each
// function has the shape stream.readReply wants: the bytes consumed, or
// errShort with the length the input must reach, so that the handshake
// never reads past a reply.

// errShort reports an incomplete reply.
var errShort = errors.New("dial: short reply")

func protoErr(format string, args ...any) *Error {
	return &Error{Kind: ProxyProtocol, Err: fmt.Errorf(format, args...)}
}

// socks4Reply classifies the 8-byte SOCKS4 reply: 5A grants, 5B is a
// refusal, any other code or version a protocol error.
func socks4Reply(b []byte) (n int, err error) {
	r, n, err := socks4.ParseReply(b)
	switch {
	case err == socks4.ErrShort:
		return n, errShort
	case err != nil:
		return 0, protoErr("socks4: reply version %#02x", b[0])
	}
	switch r {
	case socks4.Granted:
		return n, nil
	case socks4.Rejected:
		return 0, &Error{Kind: ProxyRefused, Err: fmt.Errorf("socks4: %s (%#02x)", r, byte(r))}
	}
	return 0, protoErr("socks4: reply code %#02x", byte(r))
}

// socks5Method classifies the method selection reply. withAuth says
// whether username/password was offered.
func socks5Method(b []byte, withAuth bool) (m socks5.Method, n int, err error) {
	m, n, err = socks5.ParseMethodReply(b)
	switch {
	case err == socks5.ErrShort:
		return 0, n, errShort
	case err != nil:
		return 0, 0, protoErr("socks5: method reply version %#02x", b[0])
	}
	switch {
	case m == socks5.NoAuth, m == socks5.UserPass && withAuth:
		return m, n, nil
	case m == socks5.NoAcceptable:
		return 0, 0, &Error{Kind: ProxyAuth, Err: errors.New("socks5: no acceptable authentication method")}
	}
	return 0, 0, protoErr("socks5: server chose unoffered method %#02x", byte(m))
}

// socks5AuthReply classifies the RFC 1929 status reply; anything but
// "01 00" is an authentication failure.
func socks5AuthReply(b []byte) (n int, err error) {
	status, n, err := socks5.ParseAuthReply(b)
	switch {
	case err == socks5.ErrShort:
		return n, errShort
	case err != nil || status != 0:
		return 0, &Error{Kind: ProxyAuth, Err: fmt.Errorf("socks5: authentication reply %#02x %#02x", b[0], b[1])}
	}
	return n, nil
}

// socks5Reply classifies a CONNECT reply, BND.ADDR of any ATYP included.
// A failure code is reported as soon as the fixed header is there:
// 02 is a rejection, 05 a refusal, any other a protocol error.
func socks5Reply(b []byte) (n int, err error) {
	r, _, n, err := socks5.ParseReply(b)
	if err == socks5.ErrVersion {
		return 0, protoErr("socks5: reply version %#02x", b[0])
	}
	if r != socks5.Succeeded {
		err := fmt.Errorf("socks5: reply %#02x (%s)", byte(r), r)
		switch r {
		case socks5.NotAllowed:
			return 0, &Error{Kind: ProxyRejected, Err: err}
		case socks5.ConnectionRefused:
			return 0, &Error{Kind: ProxyRefused, Err: err}
		}
		return 0, &Error{Kind: ProxyProtocol, Err: err}
	}
	switch {
	case err == socks5.ErrShort:
		return n, errShort
	case err != nil:
		return 0, protoErr("socks5: reply address type %#02x", b[3])
	}
	return n, nil
}

// httpHead parses an HTTP proxy's response head to CONNECT. As
// http.ParseConnectResponse, status is set once the status line is
// complete even while the rest is missing (errShort).
func httpHead(b []byte) (status, n int, err error) {
	status, n, err = http.ParseConnectResponse(b)
	switch {
	case err == http.ErrShort:
		return status, 0, errShort
	case err != nil:
		return 0, 0, &Error{Kind: ProxyProtocol, Err: err}
	}
	return status, n, nil
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

package http

import (
	"encoding/base64"
	"fmt"

	"github.com/neosocksd-go/neosocksd/core/addr"
)

// MaxConnectHeadSize bounds the response head of an upstream proxy to
// CONNECT, the blank line included.
const MaxConnectHeadSize = 8192

// AppendConnect appends the CONNECT request neosocksd's client sends an
// upstream HTTP proxy for target: the request line, a Basic
// Proxy-Authorization header when withUser is set (password may be empty)
// and the blank line. There is no Host header (protocols §9.4).
func AppendConnect(dst []byte, target addr.Addr, withUser bool, user, password string) []byte {
	dst = append(dst, "CONNECT "...)
	dst = append(dst, target.String()...)
	dst = append(dst, " HTTP/1.1\r\n"...)
	if withUser {
		cred := make([]byte, 0, len(user)+1+len(password))
		cred = append(cred, user...)
		cred = append(cred, ':')
		cred = append(cred, password...)
		dst = append(dst, "Proxy-Authorization: Basic "...)
		dst = base64.StdEncoding.AppendEncode(dst, cred)
		dst = append(dst, "\r\n"...)
	}
	return append(dst, "\r\n"...)
}

// ParseConnectResponse parses an upstream proxy's response head to
// CONNECT from the start of b. It returns the status code and the length
// of the head, blank line included; bytes after it belong to the tunnel.
//
// The rules are a client's, more lenient than ParseResponse: the status
// line is read by parseStatusLine, header lines are skipped unparsed, and
// lines may end in CRLF or a bare LF. While the head is incomplete it
// returns ErrShort, with code already set once the status line is complete,
// so a refusal can be reported without waiting for the headers. Bytes
// that can never start a status line are reported at once, before the
// line is complete. A head that does not end within MaxConnectHeadSize
// bytes is a wrapped ErrTooLarge; anything else wrong a wrapped
// ErrMalformed.
func ParseConnectResponse(b []byte) (code, n int, err error) {
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
	for i := 0; i < len(line) && i < len(prefix); i++ {
		if line[i] != prefix[i] {
			return 0, 0, fmt.Errorf("%w: status line %q", ErrMalformed, clip(line))
		}
	}
	if eol < 0 {
		if len(b) >= MaxConnectHeadSize {
			return 0, 0, fmt.Errorf("%w: status line longer than %d bytes", ErrTooLarge, MaxConnectHeadSize)
		}
		return 0, 0, ErrShort
	}
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	code, _, ok := parseStatusLine(string(line))
	if !ok {
		return 0, 0, fmt.Errorf("%w: status line %q", ErrMalformed, clip(line))
	}
	// The head ends at a '\n' followed by "\r\n" or "\n".
	for i := eol; i < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		if i+1 < len(b) && b[i+1] == '\n' {
			return code, i + 2, nil
		}
		if i+2 < len(b) && b[i+1] == '\r' && b[i+2] == '\n' {
			return code, i + 3, nil
		}
	}
	if len(b) >= MaxConnectHeadSize {
		return code, 0, fmt.Errorf("%w: response head longer than %d bytes", ErrTooLarge, MaxConnectHeadSize)
	}
	return code, 0, ErrShort
}

// parseStatusLine parses "HTTP/1.<digit> <3 digits>" followed by the end
// of line or a space and the reason phrase, the one status line syntax of
// every response this package reads. line has no line end.
func parseStatusLine(line string) (code int, reason string, ok bool) {
	const prefix = "HTTP/1."
	if len(line) < len(prefix)+5 || line[:len(prefix)] != prefix || !isDigit(line[7]) || line[8] != ' ' {
		return 0, "", false
	}
	for i := 9; i < 12; i++ {
		if !isDigit(line[i]) {
			return 0, "", false
		}
		code = code*10 + int(line[i]-'0')
	}
	if len(line) > 12 {
		if line[12] != ' ' {
			return 0, "", false
		}
		reason = line[13:]
	}
	return code, reason, true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// clip shortens untrusted bytes quoted in an error.
func clip(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

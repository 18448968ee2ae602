package http

import (
	"fmt"
	"strconv"

	"github.com/neosocksd-go/neosocksd/core/addr"
)

// ProxyRequest is a request head classified by the HTTP proxy's header
// rules (protocols §5.1): hop-by-hop headers are taken out and remembered,
// the rest are kept in order for forwarding.
type ProxyRequest struct {
	RequestHead
	// Connect is set for the method CONNECT (case-sensitive).
	Connect bool
	// Connection holds the tokens of the Connection header, or of
	// Proxy-Connection when no Connection header was seen. Nil for
	// CONNECT, which forwards no header: building the list is the only
	// allocation a CONNECT head would cost (curl sends
	// "Proxy-Connection: Keep-Alive" with every one), and Upgrading reads
	// the headers themselves.
	Connection []string
	// connField names the header Connection is taken from, "" when
	// there is none.
	connField string
	// Upgrade is the Upgrade header's value; HasUpgrade says it was present.
	Upgrade    string
	HasUpgrade bool
	// Auth is the Proxy-Authorization value; HasAuth says it was present.
	Auth    string
	HasAuth bool
	// ContentLength is the request body length, -1 when absent. Always -1
	// for CONNECT.
	ContentLength int64
	// Chunked is set by "Transfer-Encoding: chunked".
	Chunked bool
	// Forward are the end-to-end headers, in order and original spelling,
	// minus those the Connection header lists. Empty for CONNECT.
	Forward []Header
}

// Upgrading reports a WebSocket-style upgrade request (§5.5): an Upgrade
// header, "upgrade" among the Connection tokens and no body.
func (p *ProxyRequest) Upgrading() bool {
	return p.HasUpgrade && p.lists("upgrade") && p.ContentLength < 0 && !p.Chunked
}

// lists reports whether the Connection header (or Proxy-Connection, see
// Connection) names name, reading the header values in place so that it
// needs no token list.
func (p *ProxyRequest) lists(name string) bool {
	if p.connField == "" {
		return false
	}
	for _, f := range p.Header {
		if EqualFold(f.Name, p.connField) && hasToken(f.Value, name) {
			return true
		}
	}
	return false
}

// Proxy classifies h by the proxy listener's header table. Errors wrap
// ErrMalformed (400) or ErrTooLarge (413, more than MaxHeaders forwardable
// headers).
func (h *RequestHead) Proxy() (ProxyRequest, error) {
	p := ProxyRequest{RequestHead: *h, Connect: h.Method == "CONNECT", ContentLength: -1}
	seenHost, seenLen := false, false
	var fwd []Header
	for _, f := range h.Header {
		switch {
		case EqualFold(f.Name, "Connection"):
			p.connField = "Connection"
		case EqualFold(f.Name, "Proxy-Connection"):
			if p.connField == "" {
				p.connField = "Proxy-Connection"
			}
		case EqualFold(f.Name, "Keep-Alive"), EqualFold(f.Name, "TE"), EqualFold(f.Name, "Trailer"):
		case EqualFold(f.Name, "Proxy-Authorization"):
			if indexByte(f.Value, ' ') < 0 {
				return p, malformed("Proxy-Authorization")
			}
			if !p.HasAuth {
				p.Auth, p.HasAuth = f.Value, true
			}
		case EqualFold(f.Name, "Transfer-Encoding"):
			switch v := TrimOWS(f.Value); {
			case v == "":
			case EqualFold(v, "chunked"):
				p.Chunked = true
			default:
				return p, malformed("Transfer-Encoding")
			}
		case EqualFold(f.Name, "Upgrade"):
			p.Upgrade, p.HasUpgrade = f.Value, true
		case EqualFold(f.Name, "Host"):
			if p.Connect {
				continue
			}
			if seenHost {
				return p, malformed("duplicate Host")
			}
			seenHost = true
		case EqualFold(f.Name, "Content-Length"):
			if p.Connect {
				continue
			}
			n, ok := ParseContentLength(f.Value)
			if !ok || seenLen {
				return p, malformed("Content-Length")
			}
			seenLen = true
			p.ContentLength = n
		default:
			if p.Connect {
				continue
			}
			if len(fwd) >= MaxHeaders {
				return p, fmt.Errorf("%w: more than %d headers", ErrTooLarge, MaxHeaders)
			}
			fwd = append(fwd, f)
		}
	}
	if p.Connect {
		return p, nil
	}
	if p.Chunked && p.ContentLength >= 0 {
		return p, malformed("Content-Length with chunked")
	}
	if p.connField != "" {
		for _, f := range h.Header {
			if EqualFold(f.Name, p.connField) {
				p.Connection = appendTokens(p.Connection, f.Value)
			}
		}
	}
	for _, f := range fwd {
		if !p.lists(f.Name) {
			p.Forward = append(p.Forward, f)
		}
	}
	return p, nil
}

// URL is an absolute-form request target split for forwarding.
type URL struct {
	// HostPort is the authority without userinfo, exactly as written: the
	// value of the rebuilt Host header.
	HostPort string
	// Addr is the dial target "host:port" with the host percent-decoded
	// and ":80" added when the URL has no port.
	Addr string
	// Path is the origin-form target: path and query, still escaped,
	// at least "/".
	Path string
}

// ParseAbsoluteURI parses an absolute-form "http://" target (scheme
// case-insensitive). Origin form, other schemes, an empty host, a bad
// escape or an escape decoding to a control byte are errors wrapping
// ErrMalformed.
func ParseAbsoluteURI(target string) (URL, error) {
	const scheme = "http://"
	if len(target) < len(scheme) || !EqualFold(target[:len(scheme)], scheme) {
		return URL{}, malformed("request target is not an http URL")
	}
	rest := target[len(scheme):]
	end := len(rest)
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; c == '/' || c == '?' || c == '#' {
			end = i
			break
		}
	}
	authority, tail := rest[:end], rest[end:]
	for i := len(authority) - 1; i >= 0; i-- {
		if authority[i] == '@' {
			authority = authority[i+1:]
			break
		}
	}
	if i := indexByte(tail, '#'); i >= 0 {
		tail = tail[:i]
	}
	if tail == "" || tail[0] == '?' {
		tail = "/" + tail
	}
	host, port := authority, ""
	if len(host) > 0 && host[0] == '[' {
		i := indexByte(host, ']')
		if i < 0 {
			return URL{}, malformed("URL host")
		}
		host, port = authority[:i+1], authority[i+1:]
		if port != "" && port[0] != ':' {
			return URL{}, malformed("URL host")
		}
	} else if i := indexByte(host, ':'); i >= 0 {
		host, port = authority[:i], authority[i:]
	}
	if port != "" {
		port = port[1:]
	}
	if port == "" {
		port = "80"
	} else if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return URL{}, malformed("URL port")
	}
	dec, err := addr.Unescape(host, false, true)
	if err != nil || dec == "" || dec == "[]" {
		return URL{}, malformed("URL host")
	}
	return URL{HostPort: authority, Addr: dec + ":" + port, Path: tail}, nil
}

// AppendForwardRequest appends the request neosocksd sends upstream for
// proxy_pass (protocols §5.4): origin-form request line with the client's
// version, the regenerated Host, the end-to-end headers, Via, the body
// framing, and "Connection: close" (or, for an upgrade, "Connection:
// upgrade" plus the client's Upgrade value).
func AppendForwardRequest(dst []byte, p *ProxyRequest, u URL) []byte {
	dst = append(dst, p.Method...)
	dst = append(dst, ' ')
	dst = append(dst, u.Path...)
	dst = append(dst, ' ')
	dst = append(dst, p.Version...)
	dst = append(dst, "\r\nHost: "...)
	dst = append(dst, u.HostPort...)
	dst = append(dst, "\r\n"...)
	dst = AppendHeaders(dst, p.Forward)
	dst = append(dst, "Via: "...)
	dst = append(dst, p.Version[len("HTTP/"):]...)
	dst = append(dst, " neosocksd\r\n"...)
	switch {
	case p.Chunked:
		dst = append(dst, "Transfer-Encoding: chunked\r\n"...)
	case p.ContentLength >= 0:
		dst = append(dst, "Content-Length: "...)
		dst = strconv.AppendInt(dst, p.ContentLength, 10)
		dst = append(dst, "\r\n"...)
	}
	if p.Upgrading() {
		dst = append(dst, "Connection: upgrade\r\nUpgrade: "...)
		dst = append(dst, p.Upgrade...)
		return append(dst, "\r\n\r\n"...)
	}
	return append(dst, "Connection: close\r\n\r\n"...)
}

// AppendHeaders appends "Name: Value\r\n" for each header.
func AppendHeaders(dst []byte, hs []Header) []byte {
	for _, f := range hs {
		dst = append(dst, f.Name...)
		dst = append(dst, ": "...)
		dst = append(dst, f.Value...)
		dst = append(dst, "\r\n"...)
	}
	return dst
}

package http

import (
	"strconv"
)

// ResponseHead is an upstream response head classified for forwarding back
// to a proxy client (protocols §5.4).
type ResponseHead struct {
	Version string
	Code    int
	Reason  string
	Header  []Header // every header as received
	// ContentLength is the body length, -1 when absent.
	ContentLength int64
	// Chunked is set by "Transfer-Encoding: chunked".
	Chunked bool
	// Forward are the end-to-end headers minus Connection, Keep-Alive, TE,
	// Trailer, Upgrade, Proxy-Connection, the tokens the Connection header
	// lists, and the framing headers (Content-Length, Transfer-Encoding),
	// which the proxy regenerates.
	Forward []Header
}

// ParseResponse parses a response head from the start of b: the status
// line of parseStatusLine ("HTTP/1.<digit>", a three-digit code, a reason
// phrase), at most MaxHeaders headers, at most
// MaxResponseHeadSize bytes. Transfer-Encoding must be absent, empty or
// exactly "chunked"; Content-Length must be valid and not combined with
// chunked. It returns ErrShort while incomplete; every other error means
// 502 for the proxy.
func ParseResponse(b []byte) (ResponseHead, int, error) {
	var r ResponseHead
	s := headString(b, MaxResponseHeadSize)
	line, rest, ok := nextLine(s)
	if !ok {
		return r, 0, short(s, MaxResponseHeadSize)
	}
	for i := 0; i < len(line); i++ {
		if c := line[i]; isCtl(c) && c != '\t' {
			return r, 0, malformed("control byte in status line")
		}
	}
	code, reason, ok := parseStatusLine(line)
	if !ok {
		return r, 0, malformed("status line")
	}
	r.Version, r.Code, r.Reason = line[:8], code, reason
	hs, n, err := parseHeaders(rest, MaxResponseHeadSize-len(line)-2, MaxHeaders, nil)
	if err != nil {
		return r, 0, err
	}
	r.Header = hs
	if err := r.classify(); err != nil {
		return r, 0, err
	}
	return r, len(line) + 2 + n, nil
}

func (r *ResponseHead) classify() error {
	r.ContentLength = -1
	var conn []string
	seenLen := false
	for _, f := range r.Header {
		switch {
		case EqualFold(f.Name, "Connection"):
			conn = append(conn, Tokens(f.Value)...)
		case EqualFold(f.Name, "Keep-Alive"), EqualFold(f.Name, "TE"), EqualFold(f.Name, "Trailer"),
			EqualFold(f.Name, "Upgrade"), EqualFold(f.Name, "Proxy-Connection"):
		case EqualFold(f.Name, "Transfer-Encoding"):
			switch v := TrimOWS(f.Value); {
			case v == "":
			case EqualFold(v, "chunked"):
				r.Chunked = true
			default:
				return malformed("Transfer-Encoding")
			}
		case EqualFold(f.Name, "Content-Length"):
			n, ok := ParseContentLength(f.Value)
			if !ok || (seenLen && n != r.ContentLength) {
				return malformed("Content-Length")
			}
			seenLen = true
			r.ContentLength = n
		}
	}
	if r.Chunked {
		// RFC 9112 §6.3: chunked wins; the length is not forwarded.
		r.ContentLength = -1
	}
	if r.Code/100 == 1 {
		// Interim responses have no body, whatever they claim.
		r.Chunked, r.ContentLength = false, -1
	}
	for _, f := range r.Header {
		switch {
		case EqualFold(f.Name, "Connection"), EqualFold(f.Name, "Keep-Alive"), EqualFold(f.Name, "TE"),
			EqualFold(f.Name, "Trailer"), EqualFold(f.Name, "Upgrade"), EqualFold(f.Name, "Proxy-Connection"),
			EqualFold(f.Name, "Transfer-Encoding"), EqualFold(f.Name, "Content-Length"):
			continue
		}
		listed := false
		for _, t := range conn {
			if EqualFold(t, f.Name) {
				listed = true
				break
			}
		}
		if !listed {
			r.Forward = append(r.Forward, f)
		}
	}
	return nil
}

// Bodiless reports whether the response to a request with the given method
// carries no body: HEAD, 1xx, 204 and 304.
func (r *ResponseHead) Bodiless(method string) bool {
	return method == "HEAD" || r.Code/100 == 1 || r.Code == 204 || r.Code == 304
}

// AppendResponseHead appends the head the proxy sends its client for r:
// "HTTP/1.1", the code with its canonical reason phrase, the end-to-end
// headers, the regenerated framing header and "Connection: close". An
// interim (1xx) response gets no framing and no Connection header.
func AppendResponseHead(dst []byte, r *ResponseHead) []byte {
	dst = AppendStatusLine(dst, r.Code)
	dst = AppendHeaders(dst, r.Forward)
	if r.Code/100 == 1 {
		return append(dst, "\r\n"...)
	}
	switch {
	case r.Chunked:
		dst = append(dst, "Transfer-Encoding: chunked\r\n"...)
	case r.ContentLength >= 0:
		dst = append(dst, "Content-Length: "...)
		dst = strconv.AppendInt(dst, r.ContentLength, 10)
		dst = append(dst, "\r\n"...)
	}
	return append(dst, "Connection: close\r\n\r\n"...)
}

// AppendStatusLine appends "HTTP/1.1 <code> <reason>\r\n" with the
// canonical reason phrase (empty for codes outside the table).
func AppendStatusLine(dst []byte, code int) []byte {
	dst = append(dst, "HTTP/1.1 "...)
	dst = appendCode(dst, code)
	dst = append(dst, ' ')
	dst = append(dst, Reason(code)...)
	return append(dst, "\r\n"...)
}

func appendCode(dst []byte, code int) []byte {
	if code >= 0 && code <= 999 {
		return append(dst, byte('0'+code/100), byte('0'+code/10%10), byte('0'+code%10))
	}
	return strconv.AppendInt(dst, int64(code), 10)
}

package http

import (
	"bytes"
	"errors"
	"fmt"
)

// Limits of the request head.
const (
	// MaxHeadSize bounds a request head: request line, headers and the
	// empty line, CRLFs included.
	MaxHeadSize = 8191
	// MaxHeaders bounds the headers a proxied request may forward.
	MaxHeaders = 100
	// MaxResponseHeadSize bounds an upstream response head.
	MaxResponseHeadSize = 16384
)

// Errors of the head parsers. ErrMalformed and ErrTooLarge are wrapped with
// what was wrong; test them with errors.Is and map them with Status.
var (
	ErrShort     = errors.New("http: incomplete head")
	ErrMalformed = errors.New("http: malformed message")
	ErrTooLarge  = errors.New("http: head too large")
)

// Status returns the HTTP status a server answers a parse error with: 413
// for ErrTooLarge, 400 for anything else.
func Status(err error) int {
	if errors.Is(err, ErrTooLarge) {
		return 413
	}
	return 400
}

func malformed(what string) error { return fmt.Errorf("%w: %s", ErrMalformed, what) }

// Header is one header field as received: the name in its original
// spelling and the value with surrounding whitespace removed.
type Header struct {
	Name  string
	Value string
}

// RequestHead is a parsed request line and its headers, in order.
type RequestHead struct {
	Method  string
	Target  string
	Version string // the rest of the request line, starting "HTTP/1."
	Header  []Header
}

// Get returns the value of the first header named name (case-insensitive)
// and whether there was one.
func (h *RequestHead) Get(name string) (string, bool) { return get(h.Header, name) }

func get(hs []Header, name string) (string, bool) {
	for _, f := range hs {
		if EqualFold(f.Name, name) {
			return f.Value, true
		}
	}
	return "", false
}

// ParseRequest parses a request head from the start of b. It returns the
// head and the number of bytes it took, up to and including the empty
// line. It returns ErrShort when b holds no complete head yet (every line
// received so far being valid), a wrapped ErrTooLarge when the head cannot
// fit MaxHeadSize bytes, and a wrapped ErrMalformed on a syntax error.
func ParseRequest(b []byte) (RequestHead, int, error) {
	var h RequestHead
	line, rest, ok := nextLine(b)
	if !ok {
		return h, 0, short(b, MaxHeadSize)
	}
	if len(line)+2 > MaxHeadSize {
		return h, 0, fmt.Errorf("%w: request line", ErrTooLarge)
	}
	if err := parseRequestLine(&h, line); err != nil {
		return h, 0, err
	}
	hs, n, err := parseHeaders(rest, MaxHeadSize-len(line)-2, -1)
	if err != nil {
		return h, 0, err
	}
	h.Header = hs
	return h, len(line) + 2 + n, nil
}

// short decides what an incomplete buffer means: ErrShort while the
// pending line can still become valid and the limit is not reached.
func short(b []byte, limit int) error {
	if len(b) >= limit {
		return fmt.Errorf("%w: no end of head within %d bytes", ErrTooLarge, limit)
	}
	for i, c := range b {
		if isCtl(c) && c != '\t' && !(c == '\r' && i == len(b)-1) {
			return malformed("control byte in line")
		}
	}
	return ErrShort
}

// nextLine splits b at the first CRLF.
func nextLine(b []byte) (line, rest []byte, ok bool) {
	i := bytes.Index(b, []byte("\r\n"))
	if i < 0 {
		return nil, nil, false
	}
	return b[:i], b[i+2:], true
}

func parseRequestLine(h *RequestHead, line []byte) error {
	for _, c := range line {
		if isCtl(c) && c != '\t' {
			return malformed("control byte in request line")
		}
	}
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 < 0 {
		return malformed("request line")
	}
	sp2 := bytes.IndexByte(line[sp1+1:], ' ')
	if sp2 < 0 {
		return malformed("request line")
	}
	sp2 += sp1 + 1
	method, target, version := line[:sp1], line[sp1+1:sp2], line[sp2+1:]
	if len(method) == 0 || len(target) == 0 {
		return malformed("request line")
	}
	if !bytes.HasPrefix(version, []byte("HTTP/1.")) {
		return malformed("version")
	}
	h.Method, h.Target, h.Version = string(method), string(target), string(version)
	return nil
}

// parseHeaders parses header lines up to and including the empty line.
// limit is the byte budget left; maxCount bounds the number of fields
// (negative = unbounded). It returns the fields and bytes consumed.
func parseHeaders(b []byte, limit, maxCount int) ([]Header, int, error) {
	var hs []Header
	off := 0
	for {
		line, _, ok := nextLine(b[off:])
		if !ok {
			rest := b[off:]
			if len(b) >= limit {
				return nil, 0, fmt.Errorf("%w: headers exceed %d bytes", ErrTooLarge, limit)
			}
			if len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t') {
				return nil, 0, malformed("obs-fold")
			}
			return nil, 0, short(rest, limit-off)
		}
		if off+len(line)+2 > limit {
			return nil, 0, fmt.Errorf("%w: headers exceed %d bytes", ErrTooLarge, limit)
		}
		off += len(line) + 2
		if len(line) == 0 {
			return hs, off, nil
		}
		f, err := parseField(line)
		if err != nil {
			return nil, 0, err
		}
		if maxCount >= 0 && len(hs) >= maxCount {
			return nil, 0, fmt.Errorf("%w: more than %d headers", ErrTooLarge, maxCount)
		}
		hs = append(hs, f)
	}
}

func parseField(line []byte) (Header, error) {
	if line[0] == ' ' || line[0] == '\t' {
		return Header{}, malformed("obs-fold")
	}
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return Header{}, malformed("header without name")
	}
	for _, c := range line[:i] {
		if !isTchar(c) {
			return Header{}, malformed("header name")
		}
	}
	v := line[i+1:]
	for _, c := range v {
		if isCtl(c) && c != '\t' {
			return Header{}, malformed("control byte in header value")
		}
	}
	return Header{Name: string(line[:i]), Value: string(trimOWS(v))}, nil
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// TrimOWS removes leading and trailing spaces and tabs.
func TrimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// isCtl reports an ASCII control byte, TAB included, or DEL.
func isCtl(c byte) bool { return c < 0x20 || c == 0x7f }

// isTchar reports an RFC 7230 token character.
func isTchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// IsToken reports whether s is a non-empty RFC 7230 token.
func IsToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTchar(s[i]) {
			return false
		}
	}
	return true
}

// EqualFold compares ASCII strings case-insensitively.
func EqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// Tokens splits a comma-separated list, trimming whitespace around each
// element and dropping empty ones.
func Tokens(list string) []string {
	var out []string
	for list != "" {
		var item string
		if i := indexByte(list, ','); i >= 0 {
			item, list = list[:i], list[i+1:]
		} else {
			item, list = list, ""
		}
		if item = TrimOWS(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// ParseContentLength parses a Content-Length value: 1*DIGIT that fits an
// int64.
func ParseContentLength(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if n > (1<<63-1-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

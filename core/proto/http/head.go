package http

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
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
func ParseRequest(b []byte) (RequestHead, int, error) { return ParseRequestWith(b, nil, nil) }

// ParseRequestWith is ParseRequest for a caller that parses many heads
// and wants to allocate nothing for one it has seen before (an event
// loop). A complete head's string, of which every field is a substring,
// is made by str from the head's bytes; str must return a string equal to
// its argument and must not keep the argument, which is part of b; nil is
// a plain conversion. The headers are stored in hs's array when it has
// room for them (a new one otherwise), so the head returned shares it:
// the caller must not reuse hs while it still uses the head.
func ParseRequestWith(b []byte, str func([]byte) string, hs []Header) (RequestHead, int, error) {
	var h RequestHead
	s := headStringWith(b, MaxHeadSize, str)
	line, rest, ok := nextLine(s)
	if !ok {
		return h, 0, short(s, MaxHeadSize)
	}
	if len(line)+2 > MaxHeadSize {
		return h, 0, fmt.Errorf("%w: request line", ErrTooLarge)
	}
	if err := parseRequestLine(&h, line); err != nil {
		return h, 0, err
	}
	hs, n, err := parseHeaders(rest, MaxHeadSize-len(line)-2, -1, hs)
	if err != nil {
		return h, 0, err
	}
	h.Header = hs
	return h, len(line) + 2 + n, nil
}

// MayHaveField reports whether a line of b after the first starts with
// name followed by a colon, comparing ASCII case-insensitively. It is true
// for every b whose parse (ParseRequest, ParseResponse) has a header named
// name, and may be true for bytes that do not parse: a caller that must
// treat a head with that header apart (one with credentials, say) can tell
// from the bytes, before the parse makes strings of them.
func MayHaveField(b []byte, name string) bool {
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return false
		}
		b = b[i+1:]
		if len(b) > len(name) && b[len(name)] == ':' && foldedPrefix(b, name) {
			return true
		}
	}
}

// foldedPrefix is EqualFold(string(b[:len(s)]), s), without the string.
func foldedPrefix(b []byte, s string) bool {
	for i := 0; i < len(s); i++ {
		if lowerASCII(b[i]) != lowerASCII(s[i]) {
			return false
		}
	}
	return true
}

// lowerASCII is c in lower case if it is an ASCII capital letter.
func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// headString converts the head at the start of b to one string, so that
// every field is a substring of a single allocation. Without a complete
// head within limit bytes it converts what there is (at most limit+1
// bytes), for the error checks.
func headString(b []byte, limit int) string { return headStringWith(b, limit, nil) }

// headStringWith is headString with a complete head's string made by str
// (nil: a conversion).
func headStringWith(b []byte, limit int, str func([]byte) string) string {
	if i := bytes.Index(b, []byte("\r\n\r\n")); i >= 0 && i+4 <= limit {
		if str != nil {
			return str(b[:i+4])
		}
		return string(b[:i+4])
	}
	return string(b[:min(len(b), limit+1)])
}

// short decides what an incomplete buffer means: ErrShort while the
// pending line can still become valid and the limit is not reached.
func short(s string, limit int) error {
	if len(s) >= limit {
		return fmt.Errorf("%w: no end of head within %d bytes", ErrTooLarge, limit)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; isCtl(c) && c != '\t' && !(c == '\r' && i == len(s)-1) {
			return malformed("control byte in line")
		}
	}
	return ErrShort
}

// nextLine splits s at the first CRLF.
func nextLine(s string) (line, rest string, ok bool) {
	i := strings.Index(s, "\r\n")
	if i < 0 {
		return "", "", false
	}
	return s[:i], s[i+2:], true
}

func parseRequestLine(h *RequestHead, line string) error {
	for i := 0; i < len(line); i++ {
		if c := line[i]; isCtl(c) && c != '\t' {
			return malformed("control byte in request line")
		}
	}
	sp1 := strings.IndexByte(line, ' ')
	if sp1 < 0 {
		return malformed("request line")
	}
	sp2 := strings.IndexByte(line[sp1+1:], ' ')
	if sp2 < 0 {
		return malformed("request line")
	}
	sp2 += sp1 + 1
	method, target, version := line[:sp1], line[sp1+1:sp2], line[sp2+1:]
	if len(method) == 0 || len(target) == 0 {
		return malformed("request line")
	}
	if !strings.HasPrefix(version, "HTTP/1.") {
		return malformed("version")
	}
	h.Method, h.Target, h.Version = method, target, version
	return nil
}

// parseHeaders parses header lines up to and including the empty line.
// limit is the byte budget left; maxCount bounds the number of fields
// (negative = unbounded). It returns the fields, in into's array if it
// has room for them, and bytes consumed.
func parseHeaders(s string, limit, maxCount int, into []Header) ([]Header, int, error) {
	var hs []Header
	if n := strings.Count(s[:min(len(s), limit)], "\r\n") - 1; n > 0 {
		if cap(into) >= n {
			hs = into[:0]
		} else {
			hs = make([]Header, 0, n)
		}
	}
	off := 0
	for {
		line, _, ok := nextLine(s[off:])
		if !ok {
			rest := s[off:]
			if len(s) >= limit {
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

func parseField(line string) (Header, error) {
	if line[0] == ' ' || line[0] == '\t' {
		return Header{}, malformed("obs-fold")
	}
	i := strings.IndexByte(line, ':')
	if i <= 0 {
		return Header{}, malformed("header without name")
	}
	for k := 0; k < i; k++ {
		if !isTchar(line[k]) {
			return Header{}, malformed("header name")
		}
	}
	v := line[i+1:]
	for k := 0; k < len(v); k++ {
		if c := v[k]; isCtl(c) && c != '\t' {
			return Header{}, malformed("control byte in header value")
		}
	}
	return Header{Name: line[:i], Value: TrimOWS(v)}, nil
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
		if lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

// Tokens splits a comma-separated list, trimming whitespace around each
// element and dropping empty ones.
func Tokens(list string) []string { return appendTokens(nil, list) }

// appendTokens appends the elements of list, as Tokens splits them, to dst.
func appendTokens(dst []string, list string) []string {
	for tok, rest := nextToken(list); tok != ""; tok, rest = nextToken(rest) {
		dst = append(dst, tok)
	}
	return dst
}

// hasToken reports whether list, split as Tokens splits it, has an
// element equal to name (case-insensitive), without building the list.
func hasToken(list, name string) bool {
	for tok, rest := nextToken(list); tok != ""; tok, rest = nextToken(rest) {
		if EqualFold(tok, name) {
			return true
		}
	}
	return false
}

// nextToken returns the first element of a comma-separated list, trimmed
// of whitespace, and what follows its comma; empty elements are skipped,
// and tok is "" once none is left.
func nextToken(list string) (tok, rest string) {
	for list != "" {
		if i := indexByte(list, ','); i >= 0 {
			tok, list = list[:i], list[i+1:]
		} else {
			tok, list = list, ""
		}
		if tok = TrimOWS(tok); tok != "" {
			return tok, list
		}
	}
	return "", ""
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

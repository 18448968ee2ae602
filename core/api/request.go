package api

import (
	"errors"
	"strconv"
	"time"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/proto/http"
)

// request is a parsed API request with its header semantics applied.
type request struct {
	http.RequestHead
	contentLength  int64 // -1 when absent
	chunked        bool
	expectContinue bool
	encoding       string // request Content-Encoding: "", "deflate" or "gzip"
	acceptDeflate  bool
	contentType    string
	hasContentType bool
	// status is the error a header caused (400, 413, 415, 417), 0 if none.
	status int
}

// readHead reads until a complete request head is buffered and parses it.
// The head is consumed; body bytes stay buffered.
func (cc *conn) readHead() (*request, error) {
	for {
		h, n, err := http.ParseRequest(cc.buf)
		if err == nil {
			cc.buf = cc.buf[:copy(cc.buf, cc.buf[n:])]
			return newRequest(h), nil
		}
		if !errors.Is(err, http.ErrShort) {
			return nil, err
		}
		if err := cc.fill(http.MaxHeadSize + 1); err != nil {
			return nil, err
		}
	}
}

// keepAlive reports whether the connection persists after this request:
// HTTP/1.1 and no "Connection: close".
func keepAlive(r *request) bool {
	if len(r.Version) < 8 || r.Version[:8] != "HTTP/1.1" {
		return false
	}
	v, ok := r.Get("Connection")
	return !ok || !http.EqualFold(v, "close")
}

// newRequest applies the API's header rules (api.md §1). The first
// offending header decides the error status.
func newRequest(h http.RequestHead) *request {
	r := &request{RequestHead: h, contentLength: -1}
	fail := func(code int) {
		if r.status == 0 {
			r.status = code
		}
	}
	seenLen := false
	for _, f := range h.Header {
		switch {
		case http.EqualFold(f.Name, "Content-Length"):
			n, ok := http.ParseContentLength(f.Value)
			if !ok || seenLen {
				fail(400)
				continue
			}
			seenLen = true
			r.contentLength = n
			if n > MaxBody {
				fail(413)
			}
		case http.EqualFold(f.Name, "Transfer-Encoding"):
			switch {
			case f.Value == "":
			case http.EqualFold(f.Value, "chunked"):
				r.chunked = true
			default:
				fail(400)
			}
		case http.EqualFold(f.Name, "Expect"):
			if http.EqualFold(f.Value, "100-continue") {
				r.expectContinue = true
			} else {
				fail(417)
			}
		case http.EqualFold(f.Name, "Content-Encoding"):
			switch {
			case http.EqualFold(f.Value, "deflate"):
				r.encoding = "deflate"
			case http.EqualFold(f.Value, "gzip"):
				r.encoding = "gzip"
			default:
				fail(415)
			}
		case http.EqualFold(f.Name, "Accept-Encoding"):
			for _, c := range http.Tokens(f.Value) {
				if i := indexByte(c, ';'); i >= 0 {
					c = http.TrimOWS(c[:i])
				}
				if c == "*" || http.EqualFold(c, "deflate") {
					r.acceptDeflate = true
				}
			}
		case http.EqualFold(f.Name, "Content-Type"):
			if !r.hasContentType {
				r.contentType, r.hasContentType = f.Value, true
			}
		}
	}
	if r.chunked && seenLen {
		fail(400)
	}
	return r
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// target is a request target split into what the routing needs.
type target struct {
	rest     string // path after the segments taken so far, still escaped
	query    string
	hasQuery bool
}

// splitTarget separates path and query of an origin- or absolute-form
// target. It fails on control bytes.
func splitTarget(t string) (target, bool) {
	for i := 0; i < len(t); i++ {
		if c := t[i]; c < 0x20 || c == 0x7f {
			return target{}, false
		}
	}
	if t != "" && t[0] != '/' {
		// Absolute form: drop "scheme://authority".
		if i := indexStr(t, "://"); i > 0 {
			t = t[i+3:]
			j := 0
			for j < len(t) && t[j] != '/' && t[j] != '?' && t[j] != '#' {
				j++
			}
			t = t[j:]
		}
	}
	if i := indexByte(t, '#'); i >= 0 {
		t = t[:i]
	}
	var tg target
	if i := indexByte(t, '?'); i >= 0 {
		tg.query, tg.hasQuery = t[i+1:], true
		t = t[:i]
	}
	tg.rest = t
	return tg, true
}

func indexStr(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

// segment takes the next path segment, skipping leading slashes, and
// percent-decodes it. ok is false on a bad escape or a decoded control
// byte.
func (tg *target) segment() (string, bool) {
	p := tg.rest
	for p != "" && p[0] == '/' {
		p = p[1:]
	}
	i := indexByte(p, '/')
	if i < 0 {
		i = len(p)
	}
	seg, ok := unescape(p[:i], false)
	if !ok {
		return "", false
	}
	for j := 0; j < len(seg); j++ {
		if c := seg[j]; c < 0x20 || c == 0x7f {
			return "", false
		}
	}
	tg.rest = p[i:]
	return seg, true
}

// unescape decodes %XX escapes, and '+' as space when plus is set.
func unescape(s string, plus bool) (string, bool) {
	u, err := addr.Unescape(s, plus, false)
	return u, err == nil
}

// queryValue is one query parameter; a key without '=' has no value.
type queryValue struct {
	value    string
	hasValue bool
}

// parseQuery splits a query on '&' and each component at its first '=';
// keys and values are percent-decoded with '+' as space. The first
// occurrence of a key wins. ok is false on a malformed escape.
func parseQuery(q string) (map[string]queryValue, bool) {
	m := make(map[string]queryValue)
	for q != "" {
		var comp string
		if i := indexByte(q, '&'); i >= 0 {
			comp, q = q[:i], q[i+1:]
		} else {
			comp, q = q, ""
		}
		if comp == "" {
			continue
		}
		key, val, hasVal := comp, "", false
		if i := indexByte(comp, '='); i >= 0 {
			key, val, hasVal = comp[:i], comp[i+1:], true
		}
		k, ok := unescape(key, true)
		if !ok {
			return nil, false
		}
		v, ok := unescape(val, true)
		if !ok {
			return nil, false
		}
		if _, dup := m[k]; !dup {
			m[k] = queryValue{value: v, hasValue: hasVal}
		}
	}
	return m, true
}

// boolParam reads a boolean query flag: true only for 1 y yes on t true.
func boolParam(m map[string]queryValue, key string, def bool) bool {
	v, ok := m[key]
	if !ok {
		return def
	}
	if !v.hasValue {
		return false
	}
	switch v.value {
	case "1", "y", "yes", "on", "t", "true":
		return true
	}
	return false
}

// writer builds and sends the response to one request.
type writer struct {
	cc     *conn
	req    *request
	close  bool
	status int
	err    error // writing failed, or the request ended without an answer
	// failure is the error fail answered, for the request's log line.
	failure error
}

// page sends an HTML error page and closes the connection.
func (w *writer) page(code int) {
	w.status, w.close = code, true
	w.err = w.cc.write(http.AppendErrorPage(nil, code, time.Now()))
}

// head appends the status line, Date and Connection.
func (w *writer) head(b []byte, code int) []byte {
	b = http.AppendStatusLine(b, code)
	b = append(b, "Date: "...)
	b = http.AppendDate(b, time.Now())
	if w.close {
		b = append(b, "\r\nConnection: close\r\n"...)
	} else {
		b = append(b, "\r\nConnection: keep-alive\r\n"...)
	}
	return b
}

const textPlain = "Content-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\n"

// errmsg sends a text/plain message after the extra pre-formatted header
// lines; status 400 and above close the connection. The message is cut so
// the response fits 8 KiB.
func (w *writer) errmsg(code int, extra, msg string) {
	if code >= 400 {
		w.close = true
	}
	b := w.head(make([]byte, 0, 512), code)
	b = append(b, extra...)
	b = append(b, textPlain...)
	b = append(b, "Content-Length: "...)
	room := maxErrMsgResponse - len(b) - len("\r\n\r\n") - 4
	if len(msg) > room {
		msg = msg[:max(room, 0)]
	}
	b = strconv.AppendInt(b, int64(len(msg)), 10)
	b = append(b, "\r\n\r\n"...)
	b = append(b, msg...)
	w.send(code, b)
}

// reply sends a normal response: extra is pre-formatted header lines
// ("Name: value\r\n"…).
func (w *writer) reply(code int, extra string, body []byte) {
	b := w.head(make([]byte, 0, 256+len(body)), code)
	b = append(b, extra...)
	b = append(b, "Content-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\n\r\n"...)
	b = append(b, body...)
	w.send(code, b)
}

func (w *writer) send(code int, b []byte) {
	w.status = code
	w.err = w.cc.write(b)
	if w.err == nil && code < 400 {
		w.cc.s.stats.APISuccess.Add(1)
	}
}

package http

import (
	"bytes"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/proto/prototest"
)

func FuzzParseRequest(f *testing.F) {
	f.Add([]byte("GET /stats HTTP/1.1\r\n\r\n"))
	f.Add([]byte("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nProxy-Authorization: Basic dXNlcjpwYXNz\r\n\r\n"))
	f.Add([]byte("POST http://u@h:81/p?q HTTP/1.1\r\nHost: h\r\nConnection: x-a, upgrade\r\nUpgrade: websocket\r\nX-A: 1\r\nTransfer-Encoding: chunked\r\n\r\n"))
	f.Add([]byte("GET http://[::1]:8080/x HTTP/1.0\r\nContent-Length: 12\r\nA:\tb \r\n\r\nrest"))
	f.Add([]byte("GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := ParseRequest(b)
		// With the caller's strings and headers' array, the same head.
		for _, into := range [][]Header{nil, make([]Header, 0, 2), make([]Header, 0, MaxHeadSize)} {
			hw, nw, errw := ParseRequestWith(b, prototest.StrWithin(t, b), into)
			if nw != n || (errw == nil) != (err == nil) || errw != nil && errw.Error() != err.Error() ||
				hw.Method != h.Method || hw.Target != h.Target || hw.Version != h.Version || !slices.Equal(hw.Header, h.Header) {
				t.Fatalf("ParseRequestWith (room for %d headers): %+v %d %v; ParseRequest: %+v %d %v", cap(into), hw, nw, errw, h, n, err)
			}
		}
		if err != nil {
			if !errors.Is(err, ErrShort) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if n > len(b) || n > MaxHeadSize || !bytes.HasSuffix(b[:n], []byte("\r\n\r\n")) {
			t.Fatalf("consumed %d of %d", n, len(b))
		}
		// Every prefix is incomplete or fails the same way; never accepted.
		if _, _, err := ParseRequest(b[:n-1]); err == nil {
			t.Fatal("prefix accepted")
		}
		// Re-serialising the head parses back to the same head.
		re := append([]byte(h.Method+" "+h.Target+" "+h.Version+"\r\n"), AppendHeaders(nil, h.Header)...)
		re = append(re, "\r\n"...)
		h2, n2, err := ParseRequest(re)
		if err != nil || n2 != len(re) || h2.Method != h.Method || h2.Target != h.Target || h2.Version != h.Version || len(h2.Header) != len(h.Header) {
			t.Fatalf("round trip: %v %+v", err, h2)
		}
		for i := range h.Header {
			if h.Header[i] != h2.Header[i] {
				t.Fatalf("header %d: %+v != %+v", i, h.Header[i], h2.Header[i])
			}
		}
		p, err := h.Proxy()
		if err != nil {
			return
		}
		if p.Connect {
			return
		}
		u, err := ParseAbsoluteURI(p.Target)
		if err != nil {
			return
		}
		fwd := AppendForwardRequest(nil, &p, u)
		h3, n3, err := ParseRequest(fwd)
		if err != nil && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("rebuilt request does not parse: %v\n%q", err, fwd)
		}
		if err == nil {
			if n3 != len(fwd) {
				t.Fatalf("rebuilt request has trailing bytes")
			}
			if _, err := h3.Proxy(); err != nil && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("rebuilt request does not classify: %v\n%q", err, fwd)
			}
		}
	})
}

func FuzzParseResponse(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: x\r\nX: 1\r\n\r\nabc"))
	f.Add([]byte("HTTP/1.0 304\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, n, err := ParseResponse(b)
		if err != nil {
			if !errors.Is(err, ErrShort) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if n > len(b) || n > MaxResponseHeadSize || r.Code < 0 || r.Code > 999 {
			t.Fatalf("n=%d code=%d", n, r.Code)
		}
		out := AppendResponseHead(nil, &r)
		r2, n2, err := ParseResponse(out)
		if err != nil || n2 != len(out) || r2.Code != r.Code || r2.Chunked != r.Chunked || len(r2.Forward) != len(r.Forward) {
			t.Fatalf("rebuilt head: %v %+v\n%q", err, r2, out)
		}
		if r.Code/100 != 1 && r2.ContentLength != r.ContentLength {
			t.Fatalf("length %d != %d", r2.ContentLength, r.ContentLength)
		}
	})
}

func FuzzChunked(f *testing.F) {
	f.Add([]byte("3\r\nabc\r\n0\r\n\r\n"), uint8(1))
	f.Add([]byte("A ;x=y\r\n0123456789\r\n1;q\r\nZ\r\n0\r\nT: v\r\n\r\n"), uint8(3))
	f.Add([]byte("payload"), uint8(0))
	f.Fuzz(func(t *testing.T, b []byte, step uint8) {
		// Round trip: encoding arbitrary data in arbitrary pieces and
		// decoding it with arbitrary read sizes gives the data back.
		var enc []byte
		size := int(step%7) + 1
		for rest := b; len(rest) > 0; {
			k := min(size, len(rest))
			enc = AppendChunk(enc, rest[:k])
			rest = rest[k:]
			size = size*3 + 1
		}
		enc = append(enc, LastChunk...)
		var d ChunkedDecoder
		var out []byte
		off := 0
		feed := int(step%5) + 1
		for i := 0; off < len(enc) && i <= len(enc); i++ {
			end := min(off+feed, len(enc))
			p, k, err := d.Decode(enc[off:end])
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			out = append(out, p...)
			off += k
		}
		if !d.Done() || off != len(enc) || !bytes.Equal(out, b) {
			t.Fatalf("round trip: done=%v off=%d/%d", d.Done(), off, len(enc))
		}
		// Decoding arbitrary input never over-consumes or loops.
		var d2 ChunkedDecoder
		off = 0
		for i := 0; off < len(b) && i <= len(b)+1; i++ {
			p, k, err := d2.Decode(b[off:])
			if k < 0 || off+k > len(b) || len(p) > k {
				t.Fatalf("bad step %d %d", k, len(p))
			}
			off += k
			if err != nil || d2.Done() {
				break
			}
		}
	})
}

// FuzzHasToken: hasToken finds in place what Tokens lists, and
// appendTokens appends Tokens' list.
func FuzzHasToken(f *testing.F) {
	f.Add("keep-alive, Upgrade", "upgrade")
	f.Add(" a , ,b,\tc ;q=1,", "c ;q=1")
	f.Add(",,", "")
	f.Add("x-upgrade", "upgrade")
	f.Fuzz(func(t *testing.T, list, name string) {
		toks := Tokens(list)
		want := slices.ContainsFunc(toks, func(tok string) bool { return EqualFold(tok, name) })
		if got := hasToken(list, name); got != want {
			t.Fatalf("hasToken(%q, %q) = %v; Tokens: %q", list, name, got, toks)
		}
		pre := []string{"x"}
		if got := appendTokens(pre, list); len(got) != len(toks)+1 || got[0] != "x" || !slices.Equal(got[1:], toks) {
			t.Fatalf("appendTokens(%q) = %q; Tokens: %q", list, got, toks)
		}
		for _, tok := range toks {
			if tok == "" || tok != TrimOWS(tok) || strings.Contains(tok, ",") {
				t.Fatalf("token %q of %q", tok, list)
			}
		}
	})
}

// FuzzMayHaveField: every head that parses with a header is found by
// MayHaveField for that header's name, in any case.
func FuzzMayHaveField(f *testing.F) {
	f.Add([]byte("CONNECT a:1 HTTP/1.1\r\nHost: a:1\r\nproxy-AUTHORIZATION: Basic dXNlcjpwYXNz\r\n\r\n"), "Proxy-Authorization")
	f.Add([]byte("CONNECT a:1 HTTP/1.1\r\nProxy-Authorization-X: y\r\n\r\n"), "Proxy-Authorization")
	f.Add([]byte("GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n"), "c")
	f.Fuzz(func(t *testing.T, b []byte, name string) {
		h, _, err := ParseRequest(b)
		if err != nil {
			return
		}
		for _, f := range h.Header {
			for _, n := range []string{f.Name, strings.ToUpper(f.Name), strings.ToLower(f.Name)} {
				if !MayHaveField(b, n) {
					t.Fatalf("MayHaveField(%q, %q) = false", b, n)
				}
			}
		}
		if _, ok := h.Get(name); ok && !MayHaveField(b, name) {
			t.Fatalf("MayHaveField(%q, %q) = false", b, name)
		}
	})
}

// FuzzParseBasic: ParseBasic agrees with a decoding by
// base64.StdEncoding.DecodeString split at the first colon.
func FuzzParseBasic(f *testing.F) {
	f.Add("Basic dXNlcjpwYXNz")
	f.Add("Basic OmE6Yg==")
	f.Add("Basic  dXNlcjpwYXNz\t")
	f.Add("Basic dXNl\r\ncjpwYXNz")
	f.Add("Basic dXNlcg==")
	f.Add("basic dXNlcjpwYXNz")
	f.Fuzz(func(t *testing.T, value string) {
		user, pass, ok := ParseBasic(value)
		var wantUser, wantPass string
		wantOK := false
		if enc, found := strings.CutPrefix(value, "Basic "); found {
			dec, err := base64.StdEncoding.DecodeString(TrimOWS(enc))
			if err == nil && len(dec) <= MaxBasicLen {
				wantUser, wantPass, wantOK = strings.Cut(string(dec), ":")
			}
		}
		if !wantOK {
			wantUser, wantPass = "", ""
		}
		if user != wantUser || pass != wantPass || ok != wantOK {
			t.Fatalf("ParseBasic(%q) = %q %q %v, want %q %q %v", value, user, pass, ok, wantUser, wantPass, wantOK)
		}
	})
}

package http

import (
	"bytes"
	"testing"
)

var benchReq = []byte("GET http://example.com/path/to/resource?query=1 HTTP/1.1\r\n" +
	"Host: example.com\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\nAccept-Encoding: gzip, deflate\r\n" +
	"Proxy-Connection: Keep-Alive\r\nProxy-Authorization: Basic dXNlcjpwYXNz\r\nCookie: a=b; c=d\r\n\r\n")

func BenchmarkParseRequest(b *testing.B) {
	b.SetBytes(int64(len(benchReq)))
	b.ReportAllocs()
	for b.Loop() {
		h, _, err := ParseRequest(benchReq)
		if err != nil {
			b.Fatal(err)
		}
		p, err := h.Proxy()
		if err != nil {
			b.Fatal(err)
		}
		u, err := ParseAbsoluteURI(p.Target)
		if err != nil {
			b.Fatal(err)
		}
		_ = AppendForwardRequest(nil, &p, u)
	}
}

// benchConnect is the CONNECT head curl 8 sends through an HTTP proxy.
var benchConnect = []byte("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n" +
	"User-Agent: curl/8.5.0\r\nProxy-Connection: Keep-Alive\r\n\r\n")

// BenchmarkProxyConnect is what a proxy does with a CONNECT head it has
// seen before: the head's string is at hand (as an event loop's intern
// table hands it out), the headers go to the caller's array.
func BenchmarkProxyConnect(b *testing.B) {
	s := string(benchConnect)
	str := func([]byte) string { return s }
	hs := make([]Header, 0, 16)
	b.SetBytes(int64(len(benchConnect)))
	b.ReportAllocs()
	for b.Loop() {
		h, _, err := ParseRequestWith(benchConnect, str, hs)
		if err != nil {
			b.Fatal(err)
		}
		p, err := h.Proxy()
		if err != nil || !p.Connect {
			b.Fatal(err)
		}
	}
}

func BenchmarkChunkedDecode(b *testing.B) {
	payload := bytes.Repeat([]byte("0123456789abcdef"), 1024)
	var enc []byte
	for range 64 {
		enc = AppendChunk(enc, payload)
	}
	enc = append(enc, LastChunk...)
	b.SetBytes(int64(len(payload) * 64))
	b.ReportAllocs()
	for b.Loop() {
		var d ChunkedDecoder
		n := 0
		for !d.Done() {
			_, k, err := d.Decode(enc[n:])
			if err != nil {
				b.Fatal(err)
			}
			n += k
		}
	}
}

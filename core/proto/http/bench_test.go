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

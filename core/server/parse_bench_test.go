package server

import (
	"testing"

	"github.com/neosocksd-go/neosocksd/core/proto/socks4"
	"github.com/neosocksd-go/neosocksd/core/proto/socks5"
)

// BenchmarkParseHandshake measures the wire parsing a SOCKS handshake goes
// through in the server, on the bytes a client sends: SOCKS5 greeting plus
// request (IPv4 and domain), and a SOCKS4A request. No I/O.
//
//	go test -run='^$' -bench=ParseHandshake -benchmem ./core/server
func BenchmarkParseHandshake(b *testing.B) {
	socks5Msg := func(atyp byte, a []byte) []byte {
		m := []byte{5, 1, 0, 5, 1, 0, atyp}
		m = append(m, a...)
		return append(m, 0x1f, 0x90)
	}
	cases := []struct {
		name string
		msg  []byte
		v4   bool
	}{
		{"socks5_ip", socks5Msg(1, []byte{127, 0, 0, 1}), false},
		{"socks5_host", socks5Msg(3, append([]byte{15}, "www.example.com"...)), false},
		{"socks4a", append([]byte{4, 1, 0x1f, 0x90, 0, 0, 0, 1, 'u', 0}, "www.example.com\x00"...), true},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.msg)))
			for b.Loop() {
				if tc.v4 {
					req, n, err := socks4.ParseRequest(tc.msg)
					if err != nil || n != len(tc.msg) || !req.Addr.IsValid() {
						b.Fatal(n, err)
					}
					continue
				}
				_, k, err := socks5.ParseMethods(tc.msg)
				if err != nil {
					b.Fatal(err)
				}
				req, n, err := socks5.ParseRequest(tc.msg[k:])
				if err != nil || k+n != len(tc.msg) || !req.Addr.IsValid() {
					b.Fatal(k, n, err)
				}
			}
		})
	}
}

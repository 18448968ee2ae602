package script

import (
	"bufio"
	"bytes"
	"strings"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/route"
	lua "github.com/yuin/gopher-lua"
)

// FuzzReadResponse feeds arbitrary bytes to the API client's response
// parser: it must not panic, and a success must carry the RPC type.
func FuzzReadResponse(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Type: application/x-neosocksd-rpc; version=1\r\nContent-Length: 11\r\n\r\nreturn true"), false)
	f.Add([]byte("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n"), false)
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), true)
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Type: application/x-neosocksd-rpc;version=1\r\n\r\nx\x9c"), false)
	f.Fuzz(func(t *testing.T, b []byte, invoke bool) {
		res := readResponse(bufio.NewReader(bytes.NewReader(b)), invoke)
		if res.err == "" && res.status/100 != 2 {
			t.Fatalf("success with status %d", res.status)
		}
		if len(res.body) > maxResponseContent {
			t.Fatalf("body of %d bytes", len(res.body))
		}
	})
}

// FuzzDecide checks the mapping from callback results to decisions: a
// Forward decision always has a parsable target and proxies in reverse
// order.
func FuzzDecide(f *testing.F) {
	f.Add("example.com:80", "socks5://127.0.0.1:1080", "http://[::1]:3128", 3)
	f.Add("[::1]:443", "", "", 1)
	f.Add("no port", "x", "y", 2)
	f.Fuzz(func(t *testing.T, a, p1, p2 string, n int) {
		vals := []lua.LValue{lua.LString(a), lua.LString(p1), lua.LString(p2)}[:max(0, min(3, n))]
		d := decide(vals)
		switch d.Verdict {
		case route.Forward:
			if _, err := addr.ParseTarget(d.Target); err != nil || d.Target != a {
				t.Fatalf("forward to %q", d.Target)
			}
			hops := d.Chain.Hops()
			if len(hops) != len(vals)-1 {
				t.Fatalf("hops %v for %d values", hops, len(vals))
			}
			if len(hops) == 2 && (hops[0] != p2 || hops[1] != p1) {
				t.Fatalf("hops not reversed: %v", hops)
			}
		case route.Reject:
			if len(vals) > 0 {
				t.Fatalf("reject for string values %q", vals)
			}
		case route.Error:
			if d.Reason == "" || strings.ContainsRune(d.Reason, 0) && !strings.ContainsRune(a+p1+p2, 0) {
				t.Fatalf("error without a reason")
			}
		}
	})
}

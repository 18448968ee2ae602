package dial

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/proto/http"
	"github.com/neosocksd-go/neosocksd/core/proto/prototest"
	"github.com/neosocksd-go/neosocksd/core/proto/socks5"
)

func mustTarget(t testing.TB, s string) addr.Addr {
	t.Helper()
	a, err := addr.ParseTarget(s)
	if err != nil {
		t.Fatalf("ParseTarget(%q): %v", s, err)
	}
	return a
}

func mustProxy(t testing.TB, s string) addr.Proxy {
	t.Helper()
	p, err := addr.ParseProxy(s)
	if err != nil {
		t.Fatalf("ParseProxy(%q): %v", s, err)
	}
	return p
}

// The CONNECT response head rows live with the parser, in http's
// TestParseConnectResponse; FuzzParseHTTPHead below checks that httpHead
// classifies every error it reports as a proxy protocol error.

func TestHTTPStatusError(t *testing.T) {
	for status, want := range map[int]Kind{
		407: ProxyAuth, 403: ProxyRejected, 502: ProxyRefused, 503: ProxyRefused,
		404: ProxyProtocol, 500: ProxyProtocol, 201: ProxyProtocol, 100: ProxyProtocol,
	} {
		if got := httpStatusError(status).Kind; got != want {
			t.Errorf("%d: got %v, want %v", status, got, want)
		}
	}
}

func TestParseSOCKS4Reply(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		n    int
		kind Kind // 0 ok, 255 short
	}{
		{"granted", []byte{0, 0x5a, 0, 0, 0, 0, 0, 0}, 8, 0},
		{"granted with trailing", []byte{0, 0x5a, 1, 2, 3, 4, 5, 6, 'x'}, 8, 0},
		{"rejected", []byte{0, 0x5b, 0, 0, 0, 0, 0, 0}, 0, ProxyRefused},
		{"identd", []byte{0, 0x5c, 0, 0, 0, 0, 0, 0}, 0, ProxyProtocol},
		{"bad version", []byte{4, 0x5a, 0, 0, 0, 0, 0, 0}, 0, ProxyProtocol},
		{"short", []byte{0, 0x5a, 0}, 8, 255},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := socks4Reply(tc.in)
			checkParse(t, n, err, tc.n, tc.kind)
		})
	}
}

func checkParse(t *testing.T, n int, err error, wantN int, kind Kind) {
	t.Helper()
	if n != wantN {
		t.Errorf("n = %d, want %d", n, wantN)
	}
	checkKind(t, err, kind)
}

// checkKind checks a parse error: kind 0 wants none, 255 wants errShort,
// any other a dial error of that kind.
func checkKind(t *testing.T, err error, kind Kind) {
	t.Helper()
	switch kind {
	case 0:
		if err != nil {
			t.Errorf("err %v", err)
		}
	case 255:
		if err != errShort {
			t.Errorf("err %v, want errShort", err)
		}
	default:
		if KindOf(err) != kind {
			t.Errorf("err %v, want kind %v", err, kind)
		}
	}
}

func TestParseSOCKS5Method(t *testing.T) {
	tests := []struct {
		name     string
		in       []byte
		withAuth bool
		method   socks5.Method
		n        int
		kind     Kind
	}{
		{"none", []byte{5, 0}, false, 0, 2, 0},
		{"none offered auth", []byte{5, 0}, true, 0, 2, 0},
		{"userpass", []byte{5, 2}, true, 2, 2, 0},
		{"userpass unoffered", []byte{5, 2}, false, 0, 0, ProxyProtocol},
		{"no acceptable", []byte{5, 0xff}, true, 0, 0, ProxyAuth},
		{"gssapi", []byte{5, 1}, true, 0, 0, ProxyProtocol},
		{"version", []byte{4, 0}, false, 0, 0, ProxyProtocol},
		{"short", []byte{5}, false, 0, 2, 255},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, n, err := socks5Method(tc.in, tc.withAuth)
			if m != tc.method {
				t.Errorf("method %d, want %d", m, tc.method)
			}
			checkParse(t, n, err, tc.n, tc.kind)
		})
	}
}

func TestParseSOCKS5AuthReply(t *testing.T) {
	for _, tc := range []struct {
		in   []byte
		n    int
		kind Kind
	}{
		{[]byte{1, 0}, 2, 0},
		{[]byte{1, 1}, 0, ProxyAuth},
		{[]byte{5, 0}, 0, ProxyAuth},
		{[]byte{1}, 2, 255},
	} {
		n, err := socks5AuthReply(tc.in)
		checkParse(t, n, err, tc.n, tc.kind)
	}
}

func TestParseSOCKS5Reply(t *testing.T) {
	v6 := netip.MustParseAddr("2001:db8::1").As16()
	tests := []struct {
		name string
		in   []byte
		n    int
		kind Kind
	}{
		{"ipv4", []byte{5, 0, 0, 1, 127, 0, 0, 1, 0x1f, 0x90}, 10, 0},
		{"ipv4 trailing", []byte{5, 0, 0, 1, 127, 0, 0, 1, 0x1f, 0x90, 'x'}, 10, 0},
		{"ipv6", append(append([]byte{5, 0, 0, 4}, v6[:]...), 0, 1), 22, 0},
		{"domain", append([]byte{5, 0, 0, 3, 3}, "abc\x00\x01"...), 10, 0},
		{"empty domain", []byte{5, 0, 0, 3, 0, 0, 1}, 7, 0},
		{"short header", []byte{5, 0}, 4, 255},
		{"short ipv4", []byte{5, 0, 0, 1, 1}, 10, 255},
		{"short domain len", []byte{5, 0, 0, 3}, 5, 255},
		{"short domain", []byte{5, 0, 0, 3, 9, 'a'}, 16, 255},
		{"general failure", []byte{5, 1, 0, 1}, 0, ProxyProtocol},
		{"not allowed", []byte{5, 2, 0, 1}, 0, ProxyRejected},
		{"net unreachable", []byte{5, 3, 0, 1}, 0, ProxyProtocol},
		{"host unreachable", []byte{5, 4, 0, 1}, 0, ProxyProtocol},
		{"refused", []byte{5, 5, 0, 1}, 0, ProxyRefused},
		{"ttl", []byte{5, 6, 0, 1}, 0, ProxyProtocol},
		{"unknown code", []byte{5, 0x42, 0, 1}, 0, ProxyProtocol},
		{"version", []byte{4, 0, 0, 1, 0, 0, 0, 0, 0, 0}, 0, ProxyProtocol},
		{"atyp", []byte{5, 0, 0, 2, 0, 0, 0, 0, 0, 0}, 0, ProxyProtocol},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := socks5Reply(tc.in)
			checkParse(t, n, err, tc.n, tc.kind)
		})
	}
}

// checkReplyParser holds for every reply classifier: the contract of
// the codecs' parsers (prototest.CheckNeed), and failures are classified
// *Error values.
func checkReplyParser(t *testing.T, b []byte, parse func([]byte) (int, error)) {
	err := prototest.CheckNeed(t, b, errShort, parse)
	if err != nil && err != errShort {
		var e *Error
		if !errors.As(err, &e) || e.Kind == 0 {
			t.Fatalf("unclassified error %v", err)
		}
	}
}

func FuzzParseSOCKS4Reply(f *testing.F) {
	f.Add([]byte{0, 0x5a, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0, 0x5b, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0, 0x5a})
	f.Fuzz(func(t *testing.T, b []byte) {
		checkReplyParser(t, b, socks4Reply)
	})
}

func FuzzParseSOCKS5Reply(f *testing.F) {
	f.Add([]byte{5, 0, 0, 1, 127, 0, 0, 1, 0x1f, 0x90})
	f.Add([]byte{5, 0, 0, 3, 3, 'a', 'b', 'c', 0, 1})
	f.Add([]byte{5, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1})
	f.Add([]byte{5, 5, 0, 1})
	f.Add([]byte{5, 0, 0, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		checkReplyParser(t, b, socks5Reply)
		checkReplyParser(t, b, socks5AuthReply)
		for _, withAuth := range []bool{false, true} {
			checkReplyParser(t, b, func(b []byte) (int, error) {
				m, n, err := socks5Method(b, withAuth)
				if err == nil && m != socks5.NoAuth && (m != socks5.UserPass || !withAuth) {
					t.Fatalf("accepted method %d (auth offered %v)", m, withAuth)
				}
				return n, err
			})
		}
	})
}

// FuzzParseHTTPHead checks the classification of CONNECT response heads;
// http's FuzzParseConnectResponse checks the parser itself.
func FuzzParseHTTPHead(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 407 Proxy Authentication Required\r\n"))
	f.Add([]byte("SSH-2.0"))
	f.Fuzz(func(t *testing.T, b []byte) {
		status, n, err := httpHead(b)
		s2, n2, err2 := http.ParseConnectResponse(b)
		switch {
		case err == nil:
			if err2 != nil || status != s2 || n != n2 {
				t.Fatalf("got %d %d, parser %d %d %v", status, n, s2, n2, err2)
			}
		case err == errShort:
			if err2 != http.ErrShort || status != s2 {
				t.Fatalf("short with status %d, parser %d %v", status, s2, err2)
			}
		case KindOf(err) != ProxyProtocol || err2 == nil || err2 == http.ErrShort:
			t.Fatalf("error %v, parser %v", err, err2)
		}
	})
}

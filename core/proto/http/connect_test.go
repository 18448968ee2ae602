package http

import (
	"bytes"
	"errors"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/addr"
)

func TestAppendConnect(t *testing.T) {
	tests := []struct {
		name, proxy, target, want string
	}{
		{"ipv4", "http://p:1", "1.2.3.4:80", "CONNECT 1.2.3.4:80 HTTP/1.1\r\n\r\n"},
		{"ipv6", "http://p:1", "[2001:db8::1]:443", "CONNECT [2001:db8::1]:443 HTTP/1.1\r\n\r\n"},
		{"mapped", "http://p:1", "[::ffff:1.2.3.4]:443", "CONNECT [::ffff:1.2.3.4]:443 HTTP/1.1\r\n\r\n"},
		{"domain", "http://p:1", "Example.ORG:8080", "CONNECT Example.ORG:8080 HTTP/1.1\r\n\r\n"},
		{"user and password", "http://alice:s3cret@p:1", "a:1",
			"CONNECT a:1 HTTP/1.1\r\nProxy-Authorization: Basic YWxpY2U6czNjcmV0\r\n\r\n"},
		{"user only", "http://alice@p:1", "a:1",
			"CONNECT a:1 HTTP/1.1\r\nProxy-Authorization: Basic YWxpY2U6\r\n\r\n"},
		{"empty user", "http://@p:1", "a:1",
			"CONNECT a:1 HTTP/1.1\r\nProxy-Authorization: Basic Og==\r\n\r\n"},
		{"percent-decoded", "http://a%3Ab:c%40d@p:1", "a:1",
			"CONNECT a:1 HTTP/1.1\r\nProxy-Authorization: Basic YTpiOmNAZA==\r\n\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := addr.ParseProxy(tc.proxy)
			if err != nil {
				t.Fatal(err)
			}
			target, err := addr.ParseTarget(tc.target)
			if err != nil {
				t.Fatal(err)
			}
			got := string(AppendConnect(nil, target, p.HasUser, p.User, p.Password))
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseConnectResponse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		code int
		n    int
		err  error
	}{
		{"ok", "HTTP/1.1 200 Connection established\r\n\r\n", 200, 39, nil},
		{"ok with headers and data", "HTTP/1.0 200 OK\r\nVia: x\r\nX: y\r\n\r\nDATA", 200, 33, nil},
		{"bare LF", "HTTP/1.1 200 OK\nA: b\n\nrest", 200, 22, nil},
		{"no reason", "HTTP/1.1 200\r\n\r\n", 200, 16, nil},
		{"status only so far", "HTTP/1.1 200 OK\r\nVia: x\r\n", 200, 0, ErrShort},
		{"refusal before headers end", "HTTP/1.1 403 Forbidden\r\n", 403, 0, ErrShort},
		{"partial status line", "HTTP/1.1 20", 0, 0, ErrShort},
		{"empty", "", 0, 0, ErrShort},
		{"garbage early", "SSH-2.0", 0, 0, ErrMalformed},
		{"http/2", "HTTP/2 200\r\n\r\n", 0, 0, ErrMalformed},
		{"two-digit code", "HTTP/1.1 20 OK\r\n\r\n", 0, 0, ErrMalformed},
		{"code glued", "HTTP/1.1 2000\r\n\r\n", 0, 0, ErrMalformed},
		{"letters", "HTTP/1.x 200 OK\r\n\r\n", 0, 0, ErrMalformed},
		{"non-200 complete", "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n", 407, 73, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, n, err := ParseConnectResponse([]byte(tc.in))
			if code != tc.code || n != tc.n {
				t.Errorf("got code %d n %d, want %d %d", code, n, tc.code, tc.n)
			}
			if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Errorf("err %v, want %v", err, tc.err)
			}
		})
	}
	// An endless head is cut off.
	long := append([]byte("HTTP/1.1 200 OK\r\n"), bytes.Repeat([]byte("X: y\r\n"), MaxConnectHeadSize/6+1)...)
	if _, _, err := ParseConnectResponse(long); !errors.Is(err, ErrTooLarge) {
		t.Errorf("long head: %v", err)
	}
	if _, _, err := ParseConnectResponse(bytes.Repeat([]byte("HTTP/1.1"), MaxConnectHeadSize)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("long status line: %v", err)
	}
}

// FuzzParseConnectResponse checks the client's head parser: a parsed head
// ends in LF and parses alike without what follows it; a short input is
// below the size limit; every other error is malformed or too large.
func FuzzParseConnectResponse(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
	f.Add([]byte("HTTP/1.0 200 OK\r\nVia: 1.1 tinyproxy\r\n\r\nbanner"))
	f.Add([]byte("HTTP/1.1 407 Proxy Authentication Required\r\n"))
	f.Add([]byte("HTTP/1.1 200 OK\n\n"))
	f.Add([]byte("HTTP/1."))
	f.Fuzz(func(t *testing.T, b []byte) {
		code, n, err := ParseConnectResponse(b)
		switch {
		case err == nil:
			if n < len("HTTP/1.1 200\n\n") || n > len(b) || code < 0 || code > 999 {
				t.Fatalf("code %d n %d len %d", code, n, len(b))
			}
			if b[n-1] != '\n' {
				t.Fatalf("head does not end in LF: %q", b[:n])
			}
			c2, n2, err2 := ParseConnectResponse(b[:n:n])
			if err2 != nil || c2 != code || n2 != n {
				t.Fatalf("prefix parse: %d %d %v", c2, n2, err2)
			}
		case err == ErrShort:
			if n != 0 || len(b) >= MaxConnectHeadSize {
				t.Fatalf("short with n=%d len=%d", n, len(b))
			}
		case !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge):
			t.Fatalf("error %v", err)
		}
	})
}

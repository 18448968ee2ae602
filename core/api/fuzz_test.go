package api

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	nhttp "github.com/neosocksd-go/neosocksd/core/proto/http"
)

// scriptConn is a net.Conn whose peer sends a fixed input and then shuts
// its write side: reads return the input, then io.EOF; writes are kept.
type scriptConn struct {
	in  *bytes.Reader
	out bytes.Buffer
}

func (c *scriptConn) Read(p []byte) (int, error) {
	// Deliver in small pieces to exercise incremental parsing.
	return c.in.Read(p[:min(len(p), 7)])
}
func (c *scriptConn) Write(p []byte) (int, error)      { return c.out.Write(p) }
func (c *scriptConn) Close() error                     { return nil }
func (c *scriptConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *scriptConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *scriptConn) SetDeadline(time.Time) error      { return nil }
func (c *scriptConn) SetReadDeadline(time.Time) error  { return nil }
func (c *scriptConn) SetWriteDeadline(time.Time) error { return nil }

// FuzzServeConn feeds arbitrary bytes to ServeConn: it must return, and
// its output must be a sequence of well-formed HTTP/1.1 responses (an
// interim 100 Continue, normal responses, a final error page).
func FuzzServeConn(f *testing.F) {
	for _, s := range []string{
		"GET /healthy HTTP/1.1\r\n\r\n",
		"GET /stats?nobanner=1&server=0 HTTP/1.1\r\nAccept-Encoding: deflate\r\n\r\nGET /metrics HTTP/1.0\r\n\r\n",
		"POST /stats?q=x HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
		"POST /ruleset/invoke HTTP/1.1\r\nContent-Encoding: deflate\r\nContent-Length: 8\r\n\r\nx\x9c\x03\x00\x00\x00\x00\x01",
		"POST /ruleset/rpcall HTTP/1.1\r\nContent-Type: application/x-neosocksd-rpc; version=1\r\nExpect: 100-continue\r\nContent-Length: 6\r\n\r\nreturn",
		"POST /ruleset/update?module=m&chunkname=%40x HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
		"POST /ruleset/gc HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
		"GET /%zz HTTP/1.1\r\n\r\n",
	} {
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, in []byte, withRuleset bool) {
		rs := &fakeRuleset{statsOut: "s\n", metrics: "m 1\n", rpcOut: []byte("return true")}
		s := &Server{Version: "fuzz"}
		if withRuleset {
			s.Ruleset = func() Ruleset { return rs }
		}
		c := &scriptConn{in: bytes.NewReader(in)}
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.ServeConn(context.Background(), c)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("ServeConn did not return")
		}
		br := bufio.NewReader(&c.out)
		for i := 0; i < len(in)+1; i++ {
			if _, err := br.Peek(1); err == io.EOF {
				return
			}
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("response %d: %v\n%q", i, err, c.out.String())
			}
			if resp.ProtoMajor != 1 || resp.ProtoMinor != 1 {
				t.Fatalf("proto %s", resp.Proto)
			}
			if resp.StatusCode == 100 {
				continue
			}
			if _, err := io.ReadAll(resp.Body); err != nil {
				t.Fatalf("body: %v", err)
			}
			if resp.StatusCode >= 400 && !resp.Close {
				t.Fatalf("error %d keeps the connection", resp.StatusCode)
			}
		}
	})
}

// FuzzCredential checks the Authorization check on arbitrary values: a
// value is accepted exactly when the secret it carries is the token, and
// the token is always accepted as Bearer and as a Basic password.
func FuzzCredential(f *testing.F) {
	for _, s := range []struct{ value, token string }{
		{"Bearer tok", "tok"},
		{"bearer  tok ", "tok"},
		{"Basic dXNlcjp0b2s=", "tok"},
		{"Basic OnRvaw==", "tok"},
		{"Basic !!!", "tok"},
		{"Bearer", "tok"},
		{"Digest tok", "tok"},
		{"", "x"},
	} {
		f.Add(s.value, s.token)
	}
	f.Fuzz(func(t *testing.T, value, token string) {
		if token == "" || len(token) > maxTokenLen {
			return
		}
		for i := 0; i < len(token); i++ {
			if c := token[i]; c <= ' ' || c >= 0x7f {
				return
			}
		}
		s := &Server{Token: token}
		s.init()
		req := func(v string) *request {
			r := &request{}
			r.Header = append(r.Header, nhttp.Header{Name: "Authorization", Value: v})
			return r
		}
		cred, ok := credential(value)
		if got, want := s.authorized(req(value)), ok && cred == token; got != want {
			t.Fatalf("authorized(%q) = %v with token %q", value, got, token)
		}
		if !s.authorized(req("Bearer " + token)) {
			t.Fatalf("Bearer %q refused", token)
		}
		if !s.authorized(req(string(nhttp.AppendBasic(nil, "user", token)))) {
			t.Fatalf("Basic password %q refused", token)
		}
	})
}

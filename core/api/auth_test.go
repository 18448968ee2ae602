package api

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	nhttp "github.com/neosocksd-go/neosocksd/core/proto/http"
	"github.com/neosocksd-go/neosocksd/core/proto/rpc"
)

const testToken = "s3cret-Token_0123456789"

func TestAuth(t *testing.T) {
	rs := &fakeRuleset{rpcOut: []byte("return 1")}
	locked := start(t, rs, func(s *Server) { s.Token = testToken })
	metricsOpen := start(t, rs, func(s *Server) { s.Token, s.MetricsOpen = testToken, true })
	open := start(t, rs, nil)
	bearer := func(tok string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
	}
	basic := func(user, pass string) func(*http.Request) {
		return func(r *http.Request) { r.SetBasicAuth(user, pass) }
	}
	raw := func(v string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("Authorization", v) }
	}
	tests := []struct {
		name   string
		ts     *testServer
		method string
		path   string
		auth   func(*http.Request)
		want   int
	}{
		{"no token configured: stats open", open, "GET", "/stats", nil, 200},
		{"no token configured: invoke open", open, "POST", "/ruleset/invoke", nil, 200},
		{"no token configured: credentials ignored", open, "GET", "/stats", bearer("whatever"), 200},
		{"healthy needs no token", locked, "GET", "/healthy", nil, 200},
		{"stats without token", locked, "GET", "/stats", nil, 401},
		{"stats with bearer", locked, "GET", "/stats", bearer(testToken), 200},
		{"bearer scheme is case-insensitive", locked, "GET", "/stats", raw("bEARER " + testToken), 200},
		{"stats with wrong bearer", locked, "GET", "/stats", bearer(testToken + "x"), 401},
		{"stats with a prefix of the token", locked, "GET", "/stats", bearer(testToken[:5]), 401},
		{"empty bearer", locked, "GET", "/stats", raw("Bearer "), 401},
		{"stats with basic password", locked, "GET", "/stats", basic("anyone", testToken), 200},
		{"basic with the token as user name", locked, "GET", "/stats", basic(testToken, ""), 401},
		{"unknown scheme", locked, "GET", "/stats", raw("Token " + testToken), 401},
		{"metrics without token", locked, "GET", "/metrics", nil, 401},
		{"metrics with token", locked, "GET", "/metrics", bearer(testToken), 200},
		{"metrics open", metricsOpen, "GET", "/metrics", nil, 200},
		{"metrics open leaves stats locked", metricsOpen, "GET", "/stats", nil, 401},
		{"invoke without token", locked, "POST", "/ruleset/invoke", nil, 401},
		{"invoke with token", locked, "POST", "/ruleset/invoke", bearer(testToken), 200},
		{"rpcall without token", locked, "POST", "/ruleset/rpcall", nil, 401},
		{"gc without token", locked, "POST", "/ruleset/gc", nil, 401},
		{"unknown path without token hides what exists", locked, "GET", "/nothing", nil, 401},
		{"unknown path with token", locked, "GET", "/nothing", bearer(testToken), 404},
	}
	client := &http.Client{Timeout: 10 * time.Second}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(rs.join(&rs.invoked))
			body := io.Reader(nil)
			if tc.method == "POST" {
				body = strings.NewReader("_G.authed = true")
			}
			req, err := http.NewRequest(tc.method, "http://"+tc.ts.addr+tc.path, body)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasSuffix(tc.path, "/rpcall") {
				req.Header.Set("Content-Type", rpc.ContentType)
			}
			if tc.auth != nil {
				tc.auth(req)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
			if tc.want != 401 {
				return
			}
			got := strings.Join(resp.Header.Values("WWW-Authenticate"), "|")
			if !strings.Contains(got, "Bearer realm=") || !strings.Contains(got, "Basic realm=") {
				t.Fatalf("WWW-Authenticate %q", got)
			}
			if after := len(rs.join(&rs.invoked)); after != before {
				t.Fatal("an unauthorized request reached the ruleset")
			}
		})
	}
}

func TestAuthCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed")
	}
	ts := start(t, &fakeRuleset{}, func(s *Server) { s.Token = testToken })
	code := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		args = append([]string{"-sS", "-o", "/dev/null", "-w", "%{http_code}"}, args...)
		out, err := exec.CommandContext(ctx, curl, args...).Output()
		if err != nil {
			t.Fatalf("curl %v: %v", args, err)
		}
		return string(out)
	}
	base := "http://" + ts.addr
	if c := code(base + "/stats"); c != "401" {
		t.Fatal(c)
	}
	if c := code("-H", "Authorization: Bearer "+testToken, base+"/stats"); c != "200" {
		t.Fatal(c)
	}
	if c := code("--oauth2-bearer", testToken, base+"/ruleset/invoke", "-d", "x = 1"); c != "200" {
		t.Fatal(c)
	}
	if c := code("-u", "admin:"+testToken, base+"/metrics"); c != "200" {
		t.Fatal(c)
	}
	if c := code("-u", "admin:wrong", base+"/metrics"); c != "401" {
		t.Fatal(c)
	}
}

func TestReadToken(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		content string
		want    string
		bad     bool
	}{
		{name: "final newline trimmed", content: testToken + "\n", want: testToken},
		{name: "surrounding space trimmed", content: "  \t" + testToken + "\r\n\n", want: testToken},
		{name: "empty", content: "\n", bad: true},
		{name: "inner space", content: "two words\n", bad: true},
		{name: "control byte", content: "tok\x01en", bad: true},
		{name: "non-ASCII", content: "tök", bad: true},
		{name: "too long", content: strings.Repeat("a", maxTokenLen+1), bad: true},
		{name: "longest", content: strings.Repeat("a", maxTokenLen), want: strings.Repeat("a", maxTokenLen)},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, string(rune('a'+i)))
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := ReadToken(path)
			if tc.bad {
				if !errors.Is(err, ErrBadToken) {
					t.Fatalf("got %q, %v; want ErrBadToken", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v", got, err)
			}
		})
	}
	if _, err := ReadToken(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
}

// TestLongestTokenAsBasicPassword: the longest token a file may hold is
// accepted as the password of Basic credentials whose user name is as
// long, as it is as a Bearer token.
func TestLongestTokenAsBasicPassword(t *testing.T) {
	token := strings.Repeat("t", maxTokenLen)
	s := &Server{Token: token}
	s.init()
	for _, v := range []string{
		"Bearer " + token,
		string(nhttp.AppendBasic(nil, strings.Repeat("u", maxTokenLen), token)),
	} {
		r := &request{}
		r.Header = append(r.Header, nhttp.Header{Name: "Authorization", Value: v})
		if !s.authorized(r) {
			t.Errorf("%.20s... refused", v)
		}
	}
}

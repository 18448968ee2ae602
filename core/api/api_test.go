package api

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/core/proto/rpc"
	"github.com/neosocksd-go/neosocksd/core/stats"
)

// fakeRuleset records calls and answers with configured values.
type fakeRuleset struct {
	mu       sync.Mutex
	health   string
	statsOut string
	metrics  string
	rt       Runtime
	fail     error
	rpcOut   []byte
	rpcBlock bool

	invoked   []string
	updates   []string
	statsArgs []string
}

func (f *fakeRuleset) Healthy(ctx context.Context) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.health
}

// set changes the fake's configuration while a server may be using it.
func (f *fakeRuleset) set(fn func(f *fakeRuleset)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// join returns one of the recorded lists joined with "|".
func (f *fakeRuleset) join(list *[]string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(*list, "|")
}

// last returns the last element of one of the recorded lists.
func (f *fakeRuleset) last(list *[]string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(*list) == 0 {
		return ""
	}
	return (*list)[len(*list)-1]
}

func (f *fakeRuleset) Stats(ctx context.Context, dt time.Duration, q *string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	arg := "<nil>"
	if q != nil {
		arg = *q
	}
	f.statsArgs = append(f.statsArgs, arg)
	return f.statsOut
}

func (f *fakeRuleset) Metrics(ctx context.Context) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.metrics
}

func (f *fakeRuleset) Runtime() Runtime {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rt
}

func (f *fakeRuleset) Invoke(ctx context.Context, code []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.invoked = append(f.invoked, string(code))
	return f.fail
}

func (f *fakeRuleset) Update(ctx context.Context, module, chunkname string, code []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.updates = append(f.updates, module+"|"+chunkname+"|"+string(code))
	return f.fail
}

func (f *fakeRuleset) GC(ctx context.Context) (Runtime, Runtime, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	before := f.rt
	after := f.rt
	after.Allocated -= 3 << 20
	after.Objects -= 1500
	return before, after, f.fail
}

func (f *fakeRuleset) RPCall(ctx context.Context, code []byte) ([]byte, error) {
	f.mu.Lock()
	block, fail, out := f.rpcBlock, f.fail, f.rpcOut
	f.mu.Unlock()
	if block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if fail != nil {
		return nil, fail
	}
	return out, nil
}

var _ Ruleset = (*fakeRuleset)(nil)

type testServer struct {
	*Server
	addr string
	rs   *fakeRuleset
}

// start runs a server on 127.0.0.1:0; rs nil means no ruleset.
func start(t *testing.T, rs *fakeRuleset, mod func(*Server)) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Stats: new(stats.Counters), Version: "v1.2.3-test", Timeout: 10 * time.Second, Started: time.Now().Add(-time.Hour)}
	if rs != nil {
		s.Ruleset = func() Ruleset { return rs }
	}
	if mod != nil {
		mod(s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return")
		}
	})
	return &testServer{Server: s, addr: ln.Addr().String(), rs: rs}
}

func (ts *testServer) dial(t *testing.T) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", ts.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

// raw sends req and returns everything until the server closes.
func (ts *testServer) raw(t *testing.T, req string) string {
	t.Helper()
	c := ts.dial(t)
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read: %v (got %q)", err, b)
	}
	return string(b)
}

// response is a parsed raw response.
type response struct {
	code   int
	header map[string][]string
	body   string
	raw    string
}

func parseRaw(t *testing.T, s string) response {
	t.Helper()
	head, body, ok := strings.Cut(s, "\r\n\r\n")
	if !ok {
		t.Fatalf("no head end in %q", s)
	}
	lines := strings.Split(head, "\r\n")
	var r response
	r.raw = s
	f := strings.SplitN(lines[0], " ", 3)
	if len(f) < 3 || f[0] != "HTTP/1.1" {
		t.Fatalf("status line %q", lines[0])
	}
	r.code, _ = strconv.Atoi(f[1])
	r.header = map[string][]string{}
	for _, l := range lines[1:] {
		k, v, ok := strings.Cut(l, ": ")
		if !ok {
			t.Fatalf("header %q", l)
		}
		r.header[strings.ToLower(k)] = append(r.header[strings.ToLower(k)], v)
	}
	r.body = body
	return r
}

func (r response) get(k string) string {
	v := r.header[strings.ToLower(k)]
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

var dateRe = regexp.MustCompile(`^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$`)

func TestStatusPaths(t *testing.T) {
	rs := &fakeRuleset{}
	ts := start(t, rs, nil)
	noRS := start(t, nil, nil)
	big := strings.Repeat("a", 8200)
	tests := []struct {
		name string
		srv  *testServer
		req  string
		code int
	}{
		{"bad version", ts, "GET /healthy HTTP/2.0\r\n\r\n", 400},
		{"bad header", ts, "GET /healthy HTTP/1.1\r\nA : b\r\n\r\n", 400},
		{"obs-fold", ts, "GET /healthy HTTP/1.1\r\nA: b\r\n c\r\n\r\n", 400},
		{"bad escape", ts, "GET /%zz HTTP/1.1\r\n\r\n", 400},
		{"decoded control", ts, "GET /heal%01thy HTTP/1.1\r\n\r\n", 400},
		{"tab in target", ts, "GET /hea\tlthy HTTP/1.1\r\n\r\n", 400},
		{"head too large", ts, "GET /healthy HTTP/1.1\r\nX: " + big + "\r\n\r\n", 413},
		{"body too large", ts, "POST /ruleset/invoke HTTP/1.1\r\nContent-Length: 4194305\r\n\r\n", 413},
		{"dup length", ts, "POST /ruleset/invoke HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", 400},
		{"bad length", ts, "POST /ruleset/invoke HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400},
		{"te gzip", ts, "POST /ruleset/invoke HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 400},
		{"te and length", ts, "POST /ruleset/invoke HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n", 400},
		{"identity encoding", ts, "POST /ruleset/invoke HTTP/1.1\r\nContent-Encoding: identity\r\nContent-Length: 0\r\n\r\n", 415},
		{"br encoding", ts, "GET /healthy HTTP/1.1\r\nContent-Encoding: br\r\n\r\n", 415},
		{"expect other", ts, "GET /healthy HTTP/1.1\r\nExpect: 200-ok\r\n\r\n", 417},
		{"chunked stats", ts, "POST /stats HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501},
		{"chunked invoke", ts, "POST /ruleset/invoke HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 501},
		{"chunked unknown is 404", ts, "POST /nothing HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 404},
		{"chunked wrong method is 405", ts, "GET /ruleset/invoke HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 405},
		{"invoke no length", ts, "POST /ruleset/invoke HTTP/1.1\r\n\r\n", 411},
		{"update no length", ts, "POST /ruleset/update HTTP/1.1\r\n\r\n", 411},
		{"rpcall no length", ts, "POST /ruleset/rpcall HTTP/1.1\r\n\r\n", 411},
		{"root", ts, "GET / HTTP/1.1\r\n\r\n", 404},
		{"unknown", ts, "GET /foo HTTP/1.1\r\n\r\n", 404},
		{"trailing slash", ts, "GET /healthy/ HTTP/1.1\r\n\r\n", 404},
		{"extra segment", ts, "GET /stats/x HTTP/1.1\r\n\r\n", 404},
		{"ruleset bare", ts, "GET /ruleset HTTP/1.1\r\n\r\n", 404},
		{"ruleset other", ts, "POST /ruleset/other HTTP/1.1\r\n\r\n", 404},
		{"ruleset gc extra", ts, "POST /ruleset/gc/ HTTP/1.1\r\n\r\n", 404},
		{"healthy head", ts, "HEAD /healthy HTTP/1.1\r\n\r\n", 405},
		{"healthy post", ts, "POST /healthy HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 405},
		{"metrics post", ts, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 405},
		{"stats put", ts, "PUT /stats HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 405},
		{"stats bad query before method", ts, "PUT /stats?a=%zz HTTP/1.1\r\n\r\n", 400},
		{"gc get", ts, "GET /ruleset/gc HTTP/1.1\r\n\r\n", 405},
		{"invoke get", ts, "GET /ruleset/invoke HTTP/1.1\r\n\r\n", 405},
		{"update bad query", ts, "POST /ruleset/update?module=%z HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 400},
		{"rpcall no type", ts, "POST /ruleset/rpcall HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 400},
		{"rpcall wrong version", ts, "POST /ruleset/rpcall HTTP/1.1\r\nContent-Type: application/x-neosocksd-rpc; version=2\r\nContent-Length: 0\r\n\r\n", 400},
		{"rpcall no version", ts, "POST /ruleset/rpcall HTTP/1.1\r\nContent-Type: application/x-neosocksd-rpc\r\nContent-Length: 0\r\n\r\n", 400},
		{"rpcall form", ts, "POST /ruleset/rpcall HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 0\r\n\r\n", 400},
		{"bad gzip body", ts, "POST /ruleset/invoke HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabc", 400},
		{"no ruleset invoke", noRS, "POST /ruleset/invoke HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 500},
		{"no ruleset before 404", noRS, "GET /ruleset/whatever/x HTTP/1.1\r\n\r\n", 500},
		{"no ruleset before 405", noRS, "GET /ruleset/invoke HTTP/1.1\r\n\r\n", 500},
		{"no ruleset bare", noRS, "GET /ruleset HTTP/1.1\r\n\r\n", 500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := parseRaw(t, tc.srv.raw(t, tc.req))
			if r.code != tc.code {
				t.Fatalf("code %d, want %d\n%s", r.code, tc.code, r.raw)
			}
			if r.get("Connection") != "close" || !dateRe.MatchString(r.get("Date")) {
				t.Fatalf("headers %v", r.header)
			}
			if tc.code == 500 {
				if r.body != rpc.NoRuleset || r.get("Content-Type") != "text/plain; charset=utf-8" ||
					r.get("X-Content-Type-Options") != "nosniff" || r.get("Content-Length") != strconv.Itoa(len(rpc.NoRuleset)) {
					t.Fatalf("500 %q", r.raw)
				}
				return
			}
			want := fmt.Sprintf("HTTP/1.1 %d ", tc.code)
			if !strings.HasPrefix(r.raw, want) || r.get("Content-type") != "text/html" || r.get("Content-Length") != "" ||
				!strings.Contains(r.body, fmt.Sprintf("<TITLE>%d ", tc.code)) || len(r.header["allow"]) != 0 {
				t.Fatalf("page %q", r.raw)
			}
		})
	}
}

func TestHealthyKeepAlive(t *testing.T) {
	rs := &fakeRuleset{}
	ts := start(t, rs, nil)
	c := ts.dial(t)
	br := bufio.NewReader(c)
	for i := range 3 {
		// HTTP/1.1 without Host, as the original's clients send.
		if _, err := io.WriteString(c, "GET /healthy HTTP/1.1\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || resp.Header.Get("Connection") != "keep-alive" || len(body) != 0 || resp.ContentLength != 0 {
			t.Fatalf("%d %v %q", resp.StatusCode, resp.Header, body)
		}
	}
	// Absolute form and extra leading slashes route the same.
	io.WriteString(c, "GET http://x//healthy?z HTTP/1.1\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 || !resp.Close {
		t.Fatal(resp, err)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("connection not closed: %v", err)
	}

	for _, req := range []string{"GET /healthy HTTP/1.0\r\n\r\n", "GET /healthy HTTP/1.1\r\nConnection: Close\r\n\r\n"} {
		r := parseRaw(t, ts.raw(t, req))
		if r.code != 200 || r.get("Connection") != "close" || r.get("Content-Length") != "0" {
			t.Fatalf("%q", r.raw)
		}
	}
	// "close" must be the whole value.
	c2 := ts.dial(t)
	io.WriteString(c2, "GET /healthy HTTP/1.1\r\nConnection: close, x\r\n\r\n")
	resp, err = http.ReadResponse(bufio.NewReader(c2), nil)
	if err != nil || resp.Header.Get("Connection") != "keep-alive" {
		t.Fatal(resp, err)
	}

	rs.set(func(f *fakeRuleset) { f.health = "degraded: x" })
	r := parseRaw(t, ts.raw(t, "GET /healthy HTTP/1.1\r\n\r\n"))
	if r.code != 503 || r.body != "degraded: x" || r.get("Connection") != "close" || r.get("Content-Type") != "text/plain; charset=utf-8" {
		t.Fatalf("%q", r.raw)
	}
}

func TestPipelined(t *testing.T) {
	ts := start(t, nil, nil)
	out := ts.raw(t, "GET /healthy HTTP/1.1\r\n\r\nGET /healthy HTTP/1.1\r\nConnection: close\r\n\r\n")
	if n := strings.Count(out, "HTTP/1.1 200 OK\r\n"); n != 2 {
		t.Fatalf("%d responses: %q", n, out)
	}
}

func statsGet(t *testing.T, ts *testServer, method, query string) response {
	t.Helper()
	req := method + " /stats" + query + " HTTP/1.1\r\nConnection: close\r\n"
	if method == "POST" {
		req += "Content-Length: 0\r\n"
	}
	r := parseRaw(t, ts.raw(t, req+"\r\n"))
	if r.code != 200 {
		t.Fatalf("%q", r.raw)
	}
	if r.get("Content-Length") != strconv.Itoa(len(r.body)) || r.get("Content-Type") != "text/plain; charset=utf-8" || r.get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("headers %v", r.header)
	}
	return r
}

var labelLine = regexp.MustCompile(`^([A-Za-z ]{20}): (.*)$`)

// statsLabels checks every non-banner line is "<label padded to 20>: value"
// and returns label -> value.
func statsLabels(t *testing.T, body string) (map[string]string, []string) {
	t.Helper()
	m := map[string]string{}
	var order []string
	for _, l := range strings.Split(strings.TrimSuffix(body, "\n"), "\n") {
		g := labelLine.FindStringSubmatch(l)
		if g == nil {
			t.Fatalf("line %q", l)
		}
		k := strings.TrimRight(g[1], " ")
		m[k] = g[2]
		order = append(order, k)
	}
	return m, order
}

func TestStats(t *testing.T) {
	rs := &fakeRuleset{statsOut: "ruleset says hi\n", rt: Runtime{Allocated: 3 << 20, Objects: 12345, MemLimit: 64 << 20, ThreadsActive: 2, ThreadsPeak: 5}}
	ts := start(t, rs, nil)
	ts.Stats.Accept.Add(10)
	ts.Stats.Serve.Add(7)
	ts.Stats.Request.Add(5)
	ts.Stats.Success.Add(4)
	ts.Stats.BytesUp.Add(5000)
	ts.Stats.ConnectLatency.Add(1234 * time.Microsecond)

	r := statsGet(t, ts, "GET", "")
	if r.get("Cache-Control") != "no-store" {
		t.Fatal(r.header)
	}
	banner := "neosocksd v1.2.3-test\n  https://github.com/hexian000/neosocksd\n\n"
	if !strings.HasPrefix(r.body, banner) {
		t.Fatalf("%q", r.body)
	}
	m, order := statsLabels(t, strings.TrimPrefix(r.body, banner))
	wantOrder := []string{"Server Time", "Uptime", "Num Sessions", "Num Rejected", "Conn Accepts", "Name Resolves",
		"Requests", "API Requests", "Handshake Dial", "Traffic", "API Client", "Connect Latency"}
	if strings.Join(order, ",") != strings.Join(wantOrder, ",") {
		t.Fatalf("order %q", order)
	}
	if _, err := time.Parse("2006-01-02T15:04:05-07:00", m["Server Time"]); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(m["Uptime"], "1:00:0") || m["Conn Accepts"] != "8 (+3)" || m["Num Sessions"] != "0 (+0) peak=0" ||
		m["Num Rejected"] != "ruleset=0, timeout=0, upstream=0" || m["Traffic"] != "Up 4.88KiB, Down 0" ||
		m["Connect Latency"] != "P50=1.234ms P90=1.234ms P99=1.234ms MAX=1.234ms" ||
		!strings.HasPrefix(m["Requests"], "4 (+1), Rx 0, Tx 0") || m["API Client"] != "0 reqs, Rx 0, Tx 0" {
		t.Fatalf("%q", m)
	}
	if rs.last(&rs.statsArgs) != "" {
		t.Fatal("GET called ruleset.stats")
	}

	tests := []struct {
		query          string
		banner, server bool
	}{
		{"?nobanner=1", false, true},
		{"?nobanner", true, true},
		{"?nobanner=TRUE", true, true},
		{"?nobanner=", true, true},
		{"?nobanner=yes&server=0", false, false},
		{"?server", true, false},
		{"?server=on", true, true},
		{"?server=off&nobanner=t", false, false},
		{"?unknown=1&server=y", true, true},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			b := statsGet(t, ts, "GET", tc.query).body
			if strings.HasPrefix(b, "neosocksd ") != tc.banner || strings.Contains(b, "Uptime") != tc.server {
				t.Fatalf("%q", b)
			}
		})
	}

	b := statsGet(t, ts, "GET", "?runtime=1&nobanner=1").body
	m, _ = statsLabels(t, b)
	if m["Ruleset Allocated"] != "3.00MiB < 64.0MiB (12.3k objects)" || m["Ruleset Threads"] != "2 (peak 5)" || m["Ruleset Events"] != "(never)" {
		t.Fatalf("%q", b)
	}

	r = statsGet(t, ts, "POST", "?nobanner=1&q=a+b%21")
	if r.get("Cache-Control") != "" || !strings.HasSuffix(r.body, "Server Load         : (unknown)\nruleset says hi\n") {
		t.Fatalf("%q", r.raw)
	}
	m, order = statsLabels(t, r.body[:len(r.body)-len("ruleset says hi\n")])
	if order[len(order)-5] != "Accept Rate" || !regexp.MustCompile(`^\d+\.\d/s \([+-]\d+\.\d/s\)$`).MatchString(m["Accept Rate"]) ||
		!regexp.MustCompile(`^\d+\.\d/s \(API[+-]\d+\.\d/s\)$`).MatchString(m["Request Rate"]) ||
		m["Reject Rate"] != "ruleset=0.0/s, timeout=0.0/s, upstream=0.0/s" || !strings.HasPrefix(m["Throughput"], "Up ") {
		t.Fatalf("%q", m)
	}
	r = statsGet(t, ts, "POST", "?server=0&q")
	if r.body != "neosocksd v1.2.3-test\n  https://github.com/hexian000/neosocksd\n\nruleset says hi\n" {
		t.Fatalf("%q", r.body)
	}
	r = statsGet(t, ts, "POST", "?nobanner=1")
	m, _ = statsLabels(t, strings.TrimSuffix(r.body, "ruleset says hi\n"))
	if !regexp.MustCompile(`^\d+\.\d{3}% \(last .+\)$`).MatchString(m["Server Load"]) {
		t.Fatalf("%q", m["Server Load"])
	}
	if got := rs.join(&rs.statsArgs); got != "a b!|<nil>|<nil>" {
		t.Fatalf("%q", got)
	}

	// deflate when accepted, parameters ignored.
	c := ts.dial(t)
	io.WriteString(c, "GET /stats HTTP/1.1\r\nAccept-Encoding: gzip, deflate;q=0.5\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.Header.Get("Content-Encoding") != "deflate" {
		t.Fatal(resp, err)
	}
	zr, err := zlib.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil || !strings.Contains(string(plain), "Uptime") {
		t.Fatal(err, string(plain))
	}
	r = parseRaw(t, ts.raw(t, "GET /stats HTTP/1.1\r\nAccept-Encoding: gzip\r\nTE: trailers\r\nConnection: close\r\n\r\n"))
	if r.code != 200 || r.get("Content-Encoding") != "" || !strings.Contains(r.body, "Uptime") {
		t.Fatal(r.raw)
	}
}

// promSample is one parsed exposition line.
type promSample struct {
	name, labels, value string
}

// parseProm is a small Prometheus text-format parser: it checks that every
// sample belongs to the family announced by the HELP/TYPE lines before it
// (or to the family named by its name) and that values parse.
func parseProm(t *testing.T, text string) (fams []string, samples []promSample) {
	t.Helper()
	help := map[string]bool{}
	types := map[string]string{}
	var cur string
	line := regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$`)
	for _, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		switch {
		case strings.HasPrefix(l, "# HELP "):
			f := strings.SplitN(l[7:], " ", 2)
			if len(f) != 2 || help[f[0]] {
				t.Fatalf("HELP %q", l)
			}
			help[f[0]] = true
			cur = f[0]
			fams = append(fams, cur)
		case strings.HasPrefix(l, "# TYPE "):
			f := strings.SplitN(l[7:], " ", 2)
			if len(f) != 2 || f[0] != cur || !regexp.MustCompile(`^(counter|gauge|summary|histogram|untyped)$`).MatchString(f[1]) {
				t.Fatalf("TYPE %q", l)
			}
			types[f[0]] = f[1]
		default:
			g := line.FindStringSubmatch(l)
			if g == nil {
				t.Fatalf("sample %q", l)
			}
			if _, err := strconv.ParseFloat(g[3], 64); err != nil {
				t.Fatalf("value %q", l)
			}
			base := strings.TrimSuffix(strings.TrimSuffix(g[1], "_count"), "_sum")
			if types[base] == "" {
				t.Fatalf("sample %q without family", l)
			}
			samples = append(samples, promSample{g[1], g[2], g[3]})
		}
	}
	return fams, samples
}

func TestMetrics(t *testing.T) {
	rs := &fakeRuleset{metrics: "# HELP my_metric x\n# TYPE my_metric gauge\nmy_metric 42\n", rt: Runtime{VM: true, Allocated: 1000, Objects: 10, ThreadsActive: 1, ThreadsPeak: 3}}
	ts := start(t, rs, nil)
	ts.Stats.APIClientRx.Add(77)
	ts.Stats.ConnectLatency.Add(1500 * time.Microsecond)
	ts.Stats.ConnectLatency.Add(500 * time.Microsecond)
	r := parseRaw(t, ts.raw(t, "GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n"))
	if r.code != 200 || r.get("Content-Type") != "text/plain; version=0.0.4; charset=utf-8" || r.get("Cache-Control") != "no-store" {
		t.Fatal(r.raw)
	}
	fams, samples := parseProm(t, r.body)
	n := "neosocksd_"
	want := []string{n + "sessions_active", n + "sessions_peak", n + "halfopen_connections", n + "uptime_seconds",
		n + "process_cpu_seconds_total", n + "connections_accepted_total", n + "connections_served_total",
		n + "requests_total", n + "requests_success_total", n + "rejects_ruleset_total", n + "rejects_timeout_total",
		n + "rejects_upstream_total", n + "dns_queries_total", n + "dns_success_total", n + "api_requests_total",
		n + "api_requests_success_total", n + "uplink_bytes_total", n + "downlink_bytes_total", n + "protocol_bytes_total",
		n + "api_client_requests_total", n + "connect_latency_seconds", n + "lua_memory_bytes", n + "lua_objects",
		n + "lua_threads_active", n + "lua_threads_peak", "process_resident_memory_bytes",
		"process_virtual_memory_bytes", "process_start_time_seconds", "process_open_fds", "process_max_fds",
		n + "build_info", "my_metric"}
	if strings.Join(fams, "\n") != strings.Join(want, "\n") {
		t.Fatalf("families:\n%s", strings.Join(fams, "\n"))
	}
	var proto []string
	vals := map[string]string{}
	for _, s := range samples {
		if s.name == n+"protocol_bytes_total" {
			proto = append(proto, s.labels+"="+s.value)
		}
		vals[s.name+s.labels] = s.value
	}
	wantProto := `{direction="rx",module="api_server"}`
	if len(proto) != 8 || !strings.HasPrefix(proto[0], wantProto) || proto[6] != `{direction="rx",module="api_client"}=77` ||
		!strings.HasPrefix(proto[7], `{direction="tx",module="api_client"}`) {
		t.Fatalf("%q", proto)
	}
	if vals[n+`connect_latency_seconds{quantile="0.5"}`] != "0.0015" || vals[n+"connect_latency_seconds_count"] != "2" ||
		vals[n+"connect_latency_seconds_sum"] != "0.002" ||
		vals[n+"lua_memory_bytes"] != "1000" || vals[n+"lua_threads_peak"] != "3" || vals[n+"api_requests_total"] != "1" ||
		vals["my_metric"] != "42" || vals[n+`build_info{version="v1.2.3-test",goversion="`+runtimeVersion()+`"}`] != "1" {
		t.Fatalf("%v", vals)
	}
	if v, _ := strconv.ParseFloat(vals[n+"uptime_seconds"], 64); v < 3599 {
		t.Fatal(vals[n+"uptime_seconds"])
	}
	if v, _ := strconv.ParseFloat(vals["process_open_fds"], 64); v < 3 {
		t.Fatal(vals["process_open_fds"])
	}
	if v, _ := strconv.ParseFloat(vals["process_start_time_seconds"], 64); v < float64(time.Now().Add(-24*time.Hour).Unix()) || v > float64(time.Now().Unix()+1) {
		t.Fatal(vals["process_start_time_seconds"])
	}

	// No ruleset, no latency samples: the summary and the Lua gauges are
	// left out.
	ts2 := start(t, nil, nil)
	r = parseRaw(t, ts2.raw(t, "GET /metrics HTTP/1.1\r\nConnection: close\r\nAccept-Encoding: *\r\n\r\n"))
	if r.get("Content-Encoding") != "deflate" {
		t.Fatal(r.header)
	}
	zr, err := zlib.NewReader(strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	fams, _ = parseProm(t, string(plain))
	for _, f := range fams {
		if f == n+"connect_latency_seconds" || strings.HasPrefix(f, n+"lua_") {
			t.Fatalf("family %s without samples or a VM", f)
		}
	}

	// A ruleset without a VM (a route table): no Lua gauges either.
	ts3 := start(t, &fakeRuleset{rt: Runtime{Allocated: 1000}}, nil)
	r = parseRaw(t, ts3.raw(t, "GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n"))
	fams, _ = parseProm(t, r.body)
	for _, f := range fams {
		if strings.HasPrefix(f, n+"lua_") {
			t.Fatalf("family %s without a VM", f)
		}
	}
}

func compress(t *testing.T, enc string, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.WriteCloser
	if enc == "gzip" {
		w = gzip.NewWriter(&buf)
	} else {
		w = zlib.NewWriter(&buf)
	}
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestRuleset(t *testing.T) {
	rs := &fakeRuleset{rt: Runtime{Allocated: 10 << 20, Objects: 5000}}
	ts := start(t, rs, nil)
	code := []byte("_G.x = 1 " + strings.Repeat("-- pad\n", 100))
	for _, enc := range []string{"", "gzip", "deflate", "GZIP"} {
		body := code
		hdr := ""
		if enc != "" {
			body = compress(t, strings.ToLower(enc), code)
			hdr = "Content-Encoding: " + enc + "\r\n"
		}
		r := parseRaw(t, ts.raw(t, fmt.Sprintf("POST /ruleset/invoke HTTP/1.1\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\n%sContent-Length: %d\r\n\r\n%s", hdr, len(body), body)))
		if r.code != 200 || r.get("Content-Length") != "0" || r.body != "" {
			t.Fatalf("%s: %q", enc, r.raw)
		}
		if got := rs.last(&rs.invoked); got != string(code) {
			t.Fatalf("%s: invoked %q", enc, got)
		}
	}

	// Expect: 100-continue gets the interim response before the body is read.
	c := ts.dial(t)
	io.WriteString(c, "POST /ruleset/invoke HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 5\r\n\r\n")
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatal(line, err)
	}
	if l, _ := br.ReadString('\n'); l != "\r\n" {
		t.Fatalf("%q", l)
	}
	io.WriteString(c, "hello")
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 || rs.last(&rs.invoked) != "hello" {
		t.Fatal(resp, err)
	}
	// Empty body: no interim response.
	r := parseRaw(t, ts.raw(t, "POST /ruleset/invoke HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
	if r.code != 200 {
		t.Fatal(r.raw)
	}

	r = parseRaw(t, ts.raw(t, "POST /ruleset/update?module=libruleset&chunkname=%40libruleset.lua HTTP/1.1\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc"))
	if r.code != 200 || !regexp.MustCompile(`^Time Cost           : \S+\n$`).MatchString(r.body) || r.get("Content-Type") != "text/plain; charset=utf-8" {
		t.Fatal(r.raw)
	}
	ts.raw(t, "POST /ruleset/update?module&chunkname= HTTP/1.0\r\nContent-Length: 0\r\n\r\n")
	if got := rs.join(&rs.updates); got != "libruleset|@libruleset.lua|abc|||" {
		t.Fatalf("%q", got)
	}

	r = parseRaw(t, ts.raw(t, "POST /ruleset/gc HTTP/1.0\r\n\r\n"))
	m, order := statsLabels(t, r.body)
	if r.code != 200 || strings.Join(order, ",") != "Difference,Ruleset Allocated,Ruleset Threads,Ruleset Events,Time Cost" ||
		m["Difference"] != "-3.00MiB (-1.5k objects)" || m["Ruleset Allocated"] != "7.00MiB (3.5k objects)" {
		t.Fatalf("%q", r.raw)
	}

	boom := errors.New(`[string "=(invoke)"]:1: boom`)
	rs.set(func(f *fakeRuleset) { f.fail = boom })
	r = parseRaw(t, ts.raw(t, "POST /ruleset/invoke HTTP/1.1\r\nContent-Length: 1\r\n\r\nx"))
	if r.code != 500 || r.body != boom.Error() || r.get("Connection") != "close" {
		t.Fatal(r.raw)
	}
	rs.set(func(f *fakeRuleset) { f.fail = errors.New(strings.Repeat("e", 10000)) })
	r = parseRaw(t, ts.raw(t, "POST /ruleset/update HTTP/1.1\r\nContent-Length: 1\r\n\r\nx"))
	if r.code != 500 || len(r.raw) > 8192 || r.get("Content-Length") != strconv.Itoa(len(r.body)) || len(r.body) < 7000 {
		t.Fatalf("%d %d", len(r.raw), len(r.body))
	}
}

func TestRPCall(t *testing.T) {
	rs := &fakeRuleset{}
	ts := start(t, rs, nil)
	req := func(accept string) response {
		body := compress(t, "deflate", []byte(`return rpc["echo"]("ping")`))
		return parseRaw(t, ts.raw(t, fmt.Sprintf("POST /ruleset/rpcall HTTP/1.1\r\nContent-Type:  Application/X-Neosocksd-RPC ; Version=1 \r\nContent-Encoding: deflate\r\n%sConnection: close\r\nContent-Length: %d\r\n\r\n%s", accept, len(body), body)))
	}
	out := []byte(`return true,"ping"`)
	rs.set(func(f *fakeRuleset) { f.rpcOut = out })
	r := req("Accept-Encoding: deflate\r\n")
	if r.code != 200 || r.body != string(out) || r.get("Content-Type") != rpc.ContentType || r.get("Content-Encoding") != "" {
		t.Fatal(r.raw)
	}
	out = []byte(`return true,"` + strings.Repeat("x", 300) + `"`)
	rs.set(func(f *fakeRuleset) { f.rpcOut = out })
	r = req("Accept-Encoding: deflate\r\n")
	if r.code != 200 || r.get("Content-Encoding") != "deflate" {
		t.Fatal(r.raw)
	}
	zr, _ := zlib.NewReader(strings.NewReader(r.body))
	if plain, _ := io.ReadAll(zr); !bytes.Equal(plain, out) {
		t.Fatalf("%q", plain)
	}
	if r = req(""); r.get("Content-Encoding") != "" || r.body != string(out) {
		t.Fatal(r.raw)
	}
	rs.set(func(f *fakeRuleset) { f.fail = errors.New("attempt to call a nil value") })
	if r = req(""); r.code != 500 || r.body != rpc.NoReturn {
		t.Fatal(r.raw)
	}
}

func TestTimeout(t *testing.T) {
	rs := &fakeRuleset{rpcBlock: true}
	ts := start(t, rs, func(s *Server) { s.Timeout = 300 * time.Millisecond })
	// An idle connection is closed without a response.
	if out := ts.raw(t, ""); out != "" {
		t.Fatalf("%q", out)
	}
	// A partial head as well.
	if out := ts.raw(t, "GET /healthy HTTP/1.1\r\n"); out != "" {
		t.Fatalf("%q", out)
	}
	// A slow rpcall: closed without an answer.
	if out := ts.raw(t, "POST /ruleset/rpcall HTTP/1.1\r\nContent-Type: application/x-neosocksd-rpc; version=1\r\nContent-Length: 1\r\n\r\nx"); out != "" {
		t.Fatalf("%q", out)
	}
	// The timer restarts for each request on a kept-alive connection.
	c := ts.dial(t)
	br := bufio.NewReader(c)
	for range 2 {
		io.WriteString(c, "GET /healthy HTTP/1.1\r\n\r\n")
		if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 200 {
			t.Fatal(resp, err)
		}
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("kept-alive connection not timed out: %v", err)
	}
}

func TestCountersAndAdmission(t *testing.T) {
	var admitted, refused int
	var mu sync.Mutex
	allow := true
	ts := start(t, nil, func(s *Server) {
		s.Admit = func() bool {
			mu.Lock()
			defer mu.Unlock()
			if allow {
				admitted++
			} else {
				refused++
			}
			return allow
		}
	})
	ts.raw(t, "GET /healthy HTTP/1.1\r\nConnection: close\r\n\r\n")
	ts.raw(t, "GET /nope HTTP/1.1\r\n\r\n")
	ts.raw(t, "garbage\r\n\r\n")
	c := ts.Stats
	if c.APIRequest.Load() != 2 || c.APISuccess.Load() != 1 || c.APIServerRx.Load() == 0 || c.APIServerTx.Load() == 0 {
		t.Fatalf("req=%d ok=%d rx=%d tx=%d", c.APIRequest.Load(), c.APISuccess.Load(), c.APIServerRx.Load(), c.APIServerTx.Load())
	}
	if c.Accept.Load() != 0 {
		t.Fatal("Serve counted Accept although Admit is set")
	}
	mu.Lock()
	allow = false
	mu.Unlock()
	rc := ts.dial(t)
	io.WriteString(rc, "GET /healthy HTTP/1.1\r\n\r\n")
	if out, _ := io.ReadAll(rc); len(out) != 0 {
		t.Fatalf("refused connection answered %q", out)
	}
	mu.Lock()
	defer mu.Unlock()
	if admitted != 3 || refused != 1 {
		t.Fatal(admitted, refused)
	}
}

func TestServeShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET /healthy HTTP/1.1\r\n\r\n")
	br := bufio.NewReader(c)
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 200 {
		t.Fatal(resp, err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return with a kept-alive connection open")
	}
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("connection still open")
	}
	if s.stats.Accept.Load() != 1 || s.stats.Serve.Load() != 1 {
		t.Fatal("accept counters without Admit")
	}
}

func TestCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed")
	}
	rs := &fakeRuleset{rpcOut: []byte("return true")}
	ts := start(t, rs, nil)
	base := "http://" + ts.addr
	run := func(args ...string) (string, int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		args = append([]string{"-sS", "-o", "-", "-w", "\n%{http_code}"}, args...)
		out, err := exec.CommandContext(ctx, curl, args...).Output()
		if err != nil {
			t.Fatalf("curl %v: %v", args, err)
		}
		s := string(out)
		i := strings.LastIndexByte(s, '\n')
		code, _ := strconv.Atoi(s[i+1:])
		return s[:i], code
	}
	if body, code := run(base + "/healthy"); code != 200 || body != "" {
		t.Fatal(code, body)
	}
	if body, code := run(base + "/stats"); code != 200 || !strings.Contains(body, "neosocksd") || !strings.Contains(body, "Uptime") {
		t.Fatal(code, body)
	}
	if body, code := run("--compressed", base+"/stats?nobanner=1"); code != 200 || !strings.HasPrefix(body, "Server Time") {
		t.Fatal(code, body)
	}
	rs.set(func(f *fakeRuleset) { f.statsOut = "from ruleset\n" })
	if body, code := run("-X", "POST", base+"/stats?q=abc"); code != 200 || !strings.HasSuffix(body, "from ruleset\n") || rs.last(&rs.statsArgs) != "abc" {
		t.Fatal(code, body)
	}
	if body, code := run("--compressed", base+"/metrics"); code != 200 || !strings.Contains(body, "neosocksd_uptime_seconds ") {
		t.Fatal(code, body)
	}
	if _, code := run(base+"/ruleset/invoke", "-d", "_G.x = 1"); code != 200 || rs.last(&rs.invoked) != "_G.x = 1" {
		t.Fatal(code)
	}
	dir := t.TempDir()
	big := strings.Repeat("print('x')\n", 200000) // > 1 MiB, curl sends Expect: 100-continue
	gz := filepath.Join(dir, "big.lua.gz")
	os.WriteFile(gz, compress(t, "gzip", []byte(big)), 0o600)
	if _, code := run(base+"/ruleset/invoke", "-H", "Content-Encoding: gzip", "--data-binary", "@"+gz); code != 200 || rs.last(&rs.invoked) != big {
		t.Fatal(code)
	}
	plain := filepath.Join(dir, "big.lua")
	os.WriteFile(plain, []byte(big[:2<<20]), 0o600)
	if _, code := run(base+"/ruleset/update?chunkname=%40ruleset.lua", "--data-binary", "@"+plain); code != 200 ||
		rs.last(&rs.updates) != "|@ruleset.lua|"+big[:2<<20] {
		t.Fatal(code)
	}
	if body, code := run("-X", "POST", base+"/ruleset/gc"); code != 200 || !strings.HasPrefix(body, "Difference          : ") {
		t.Fatal(code, body)
	}
	if body, code := run(base+"/ruleset/rpcall", "-H", "Content-Type: "+rpc.ContentType, "--data-binary", "return 1"); code != 200 || body != "return true" {
		t.Fatal(code, body)
	}
	if _, code := run("-I", base+"/healthy"); code != 405 {
		t.Fatal(code)
	}
}

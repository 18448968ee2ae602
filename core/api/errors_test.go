package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/proto/http"
	"github.com/neosocksd-go/neosocksd/core/proto/rpc"
)

func TestStatusOf(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name string
		err  error
		code int
		text bool
		msg  string
	}{
		{name: "page", err: pageError(404), code: 404},
		{name: "text", err: textError(503, "degraded", nil), code: 503, text: true, msg: "degraded"},
		{name: "text with cause", err: textError(500, rpc.NoReturn, boom), code: 500, text: true, msg: rpc.NoReturn},
		{name: "wrapped", err: fmt.Errorf("reading: %w", pageError(413)), code: 413},
		{name: "head too large", err: fmt.Errorf("%w: 9000 bytes", http.ErrTooLarge), code: 413},
		{name: "malformed head", err: fmt.Errorf("%w: bad line", http.ErrMalformed), code: 400},
		{name: "body bomb", err: errBodyTooLarge, code: 413},
		{name: "unauthorized", err: errUnauthorized, code: 401, text: true, msg: "authentication required\n"},
		{name: "peer closed", err: io.EOF},
		{name: "body lost", err: &bodyIOError{io.ErrUnexpectedEOF}},
		{name: "timer", err: context.DeadlineExceeded},
		{name: "engine error alone", err: boom},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := statusOf(tc.err)
			if a.code != tc.code || a.text != tc.text || a.msg != tc.msg {
				t.Fatalf("statusOf(%v) = %d %v %q", tc.err, a.code, a.text, a.msg)
			}
		})
	}
	if err := textError(500, "x", boom); !errors.Is(err, boom) {
		t.Fatal("the cause is not wrapped")
	}
}

// recorder keeps the log records a handler receives.
type recorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *recorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r.Clone())
	return nil
}
func (h *recorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recorder) WithGroup(string) slog.Handler      { return h }

// TestFailLogsOnce: an engine's error is answered and logged once, in the
// request's own line with its status.
func TestFailLogsOnce(t *testing.T) {
	rs := &fakeRuleset{fail: errors.New("update refused")}
	rec := new(recorder)
	ts := start(t, rs, func(s *Server) { s.Logger = slog.New(rec) })
	for _, path := range []string{"/ruleset/invoke", "/ruleset/update"} {
		r := parseRaw(t, ts.raw(t, "POST "+path+" HTTP/1.1\r\nContent-Length: 1\r\n\r\nx"))
		if r.code != 500 || r.body != "update refused" {
			t.Fatal(r.raw)
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var withErr []string
	for _, r := range rec.recs {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "err" {
				withErr = append(withErr, r.Message+": "+a.Value.String())
			}
			return true
		})
	}
	want := "api request: update refused|api request: update refused"
	if got := strings.Join(withErr, "|"); got != want {
		t.Fatalf("records with err: %q", got)
	}
}

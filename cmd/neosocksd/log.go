package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"log/syslog"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/neosocksd-go/neosocksd/core/config"
)

// lineHandler writes one line per record in the original's shape:
// "<L> <RFC 3339 time> <message> key=value ...". Not contractual; it is for
// people reading logs.
type lineHandler struct {
	mu     *sync.Mutex
	w      io.Writer
	level  *slog.LevelVar
	color  bool
	attrs  []byte // preformatted attributes from WithAttrs
	prefix string // group prefix from WithGroup
}

func newLineHandler(w io.Writer, level *slog.LevelVar, color bool) *lineHandler {
	return &lineHandler{mu: new(sync.Mutex), w: w, level: level, color: color}
}

func (h *lineHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

func (h *lineHandler) Handle(_ context.Context, r slog.Record) error {
	buf := make([]byte, 0, 256)
	letter := config.LevelLetter(r.Level)
	if h.color {
		buf = append(buf, colorOf(letter)...)
	}
	buf = append(buf, letter, ' ')
	buf = r.Time.AppendFormat(buf, time.RFC3339)
	buf = append(buf, ' ')
	buf = append(buf, r.Message...)
	buf = append(buf, h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		buf = appendAttr(buf, h.prefix, a)
		return true
	})
	if h.color {
		buf = append(buf, "\x1b[0m"...)
	}
	buf = append(buf, '\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := h.w.Write(buf)
	return err
}

func colorOf(letter byte) string {
	switch letter {
	case 'F', 'E':
		return "\x1b[31m"
	case 'W':
		return "\x1b[33m"
	case 'I':
		return "\x1b[32m"
	}
	return "\x1b[37m"
}

func appendAttr(buf []byte, prefix string, a slog.Attr) []byte {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return buf
	}
	if a.Value.Kind() == slog.KindGroup {
		for _, g := range a.Value.Group() {
			buf = appendAttr(buf, prefix+a.Key+".", g)
		}
		return buf
	}
	buf = append(buf, ' ')
	buf = append(buf, prefix...)
	buf = append(buf, a.Key...)
	buf = append(buf, '=')
	s := a.Value.String()
	if needsQuote(s) {
		return strconv.AppendQuote(buf, s)
	}
	return append(buf, s...)
}

func needsQuote(s string) bool {
	if s == "" {
		return true
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == '"' || c == '=' || c >= 0x7f {
			return true
		}
	}
	return false
}

func (h *lineHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	h2 := *h
	h2.attrs = append([]byte(nil), h.attrs...)
	for _, a := range attrs {
		h2.attrs = appendAttr(h2.attrs, h.prefix, a)
	}
	return &h2
}

func (h *lineHandler) WithGroup(name string) slog.Handler {
	h2 := *h
	h2.prefix = h.prefix + name + "."
	return &h2
}

// syslogHandler sends records to the system log with the matching
// priority.
type syslogHandler struct {
	w     *syslog.Writer
	inner *lineHandler // formats attributes
	level *slog.LevelVar
}

func (h *syslogHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

func (h *syslogHandler) Handle(_ context.Context, r slog.Record) error {
	buf := []byte(r.Message)
	buf = append(buf, h.inner.attrs...)
	r.Attrs(func(a slog.Attr) bool { buf = appendAttr(buf, h.inner.prefix, a); return true })
	msg := string(buf)
	switch {
	case r.Level >= config.LevelFatal:
		return h.w.Crit(msg)
	case r.Level >= config.LevelError:
		return h.w.Err(msg)
	case r.Level >= config.LevelWarning:
		return h.w.Warning(msg)
	case r.Level >= config.LevelNotice:
		return h.w.Notice(msg)
	case r.Level >= config.LevelInfo:
		return h.w.Info(msg)
	}
	return h.w.Debug(msg)
}

func (h *syslogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &syslogHandler{w: h.w, inner: h.inner.WithAttrs(attrs).(*lineHandler), level: h.level}
}

func (h *syslogHandler) WithGroup(name string) slog.Handler {
	return &syslogHandler{w: h.w, inner: h.inner.WithGroup(name).(*lineHandler), level: h.level}
}

// newLogger builds the logger for a --log sink.
func newLogger(sink string, level *slog.LevelVar) (*slog.Logger, error) {
	switch sink {
	case "stdout":
		return slog.New(newLineHandler(os.Stdout, level, false)), nil
	case "stderr", "":
		return slog.New(newLineHandler(os.Stderr, level, false)), nil
	case "terminal":
		return slog.New(newLineHandler(os.Stderr, level, true)), nil
	case "discard":
		return slog.New(slog.DiscardHandler), nil
	case "syslog":
		w, err := syslog.New(syslog.LOG_DAEMON|syslog.LOG_INFO, "neosocksd")
		if err != nil {
			return nil, fmt.Errorf("open syslog: %w", err)
		}
		return slog.New(&syslogHandler{w: w, inner: newLineHandler(io.Discard, level, false), level: level}), nil
	}
	return nil, fmt.Errorf("unknown log sink %q", sink)
}

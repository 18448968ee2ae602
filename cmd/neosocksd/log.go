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
	"sync/atomic"
	"time"

	"github.com/neosocksd-go/neosocksd/core/config"
)

// timeFormat is RFC 3339 with milliseconds: the original prints whole
// seconds, which cannot order the records of one busy second.
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

// lineHandler writes one line per record in the original's shape:
// "<L> <RFC 3339 time> <message> key=value ...". Not contractual; it is for
// people reading logs. A record is always one line: line breaks inside
// the message are written as \n, and attribute values that hold any
// control character are quoted.
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
	buf = r.Time.AppendFormat(buf, timeFormat)
	buf = append(buf, ' ')
	buf = appendMessage(buf, r.Message)
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

// appendMessage appends msg with its line breaks escaped, so that a
// multi-line text (a Lua traceback, a list of diagnostics) stays inside
// its record.
func appendMessage(buf []byte, msg string) []byte {
	for i := 0; i < len(msg); i++ {
		switch c := msg[i]; c {
		case '\n':
			buf = append(buf, '\\', 'n')
		case '\r':
			buf = append(buf, '\\', 'r')
		default:
			buf = append(buf, c)
		}
	}
	return buf
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
	buf := appendMessage(nil, r.Message)
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

// levelName names a level in JSON records; the names are the
// --loglevel words, upper-case as slog writes its own.
func levelName(l slog.Level) string {
	switch {
	case l >= config.LevelFatal:
		return "FATAL"
	case l >= config.LevelError:
		return "ERROR"
	case l >= config.LevelWarning:
		return "WARN"
	case l >= config.LevelNotice:
		return "NOTICE"
	case l >= config.LevelInfo:
		return "INFO"
	case l >= config.LevelDebug:
		return "DEBUG"
	case l >= config.LevelVerbose:
		return "VERBOSE"
	}
	return "VERYVERBOSE"
}

// newJSONHandler writes one JSON object per record (--log-format json):
// slog's JSON handler with the daemon's level names and millisecond
// times, so that log shippers need no parser of their own.
func newJSONHandler(w io.Writer, level *slog.LevelVar) slog.Handler {
	return slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.TimeKey:
				if t, ok := a.Value.Any().(time.Time); ok {
					a.Value = slog.StringValue(t.Format(timeFormat))
				}
			case slog.LevelKey:
				if l, ok := a.Value.Any().(slog.Level); ok {
					a.Value = slog.StringValue(levelName(l))
				}
			}
			return a
		},
	})
}

// streamHandler is the handler of a stream sink in the given --log-format.
func streamHandler(w io.Writer, format string, level *slog.LevelVar, color bool) slog.Handler {
	if format == "json" {
		return newJSONHandler(w, level)
	}
	return newLineHandler(w, level, color)
}

// newLogger builds the logger for a --log sink and a --log-format. The
// format applies to the stream sinks (stdout, stderr, terminal, which is
// not coloured in JSON); the system log always gets text, inside its own
// envelope.
func newLogger(sink, format string, level *slog.LevelVar) (*slog.Logger, error) {
	switch sink {
	case "stdout":
		return slog.New(streamHandler(os.Stdout, format, level, false)), nil
	case "stderr", "":
		return slog.New(streamHandler(os.Stderr, format, level, false)), nil
	case "terminal":
		return slog.New(streamHandler(os.Stderr, format, level, true)), nil
	case "discard":
		return slog.New(slog.DiscardHandler), nil
	case "syslog":
		h, err := newSyslogHandler(level)
		if err != nil {
			return nil, err
		}
		return slog.New(h), nil
	}
	return nil, fmt.Errorf("unknown log sink %q", sink)
}

// newSyslogHandler connects to the system log.
func newSyslogHandler(level *slog.LevelVar) (*syslogHandler, error) {
	w, err := syslog.New(syslog.LOG_DAEMON|syslog.LOG_INFO, "neosocksd")
	if err != nil {
		return nil, fmt.Errorf("open syslog: %w", err)
	}
	return &syslogHandler{w: w, inner: newLineHandler(io.Discard, level, false), level: level}, nil
}

// gatedHandler passes records to its handler until its gate closes; the
// gate is shared by the handlers WithAttrs and WithGroup derive.
type gatedHandler struct {
	slog.Handler
	closed *atomic.Bool
}

func (h gatedHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return !h.closed.Load() && h.Handler.Enabled(ctx, l)
}

func (h gatedHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return gatedHandler{h.Handler.WithAttrs(attrs), h.closed}
}

func (h gatedHandler) WithGroup(name string) slog.Handler {
	return gatedHandler{h.Handler.WithGroup(name), h.closed}
}

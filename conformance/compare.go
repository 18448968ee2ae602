package conformance

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/neosocksd-go/neosocksd/core/route"
)

// Event is a tag event: a tagged rule (or the tagged default) fired for
// addr, or an authentication failure.
type Event struct{ Tag, Addr string }

// Outcome is what an engine decided for one request, in the form the
// suite compares.
type Outcome struct {
	Verdict route.Verdict // Forward (ROUTE), Reject or Error
	Target  string
	Chain   route.Chain // first hop first
	Reason  string      // Error: not compared, shown in reports
	Events  []Event
}

// Same reports whether two outcomes agree: verdict, target and chain byte
// for byte, and the ordered events. Errors compare by kind only.
func (o Outcome) Same(p Outcome) bool {
	if o.Verdict != p.Verdict || !slices.Equal(o.Events, p.Events) {
		return false
	}
	if o.Verdict == route.Forward {
		return o.Target == p.Target && o.Chain == p.Chain
	}
	return true
}

func (o Outcome) String() string {
	var b strings.Builder
	switch o.Verdict {
	case route.Forward:
		fmt.Fprintf(&b, "ROUTE %q chain %s", o.Target, o.Chain)
	case route.Reject:
		b.WriteString("REJECT")
	case route.Error:
		fmt.Fprintf(&b, "ERROR (%s)", o.Reason)
	default:
		fmt.Fprintf(&b, "%v", o.Verdict)
	}
	if len(o.Events) > 0 {
		b.WriteString(" events")
		for _, e := range o.Events {
			fmt.Fprintf(&b, " [%s] %q", e.Tag, e.Addr)
		}
	}
	return b.String()
}

// Engine is one way of deciding. Engines keep state between requests
// (load balancers); Reset starts a fresh stream.
type Engine interface {
	Name() string
	Reset() error
	Decide(r Request) (Outcome, error)
}

// Tracer is implemented by engines that can explain a decision.
type Tracer interface {
	Trace(r Request) string
}

// Mismatch reports the first request of a stream on which two engines
// disagree.
type Mismatch struct {
	Index     int // position in the stream
	Request   Request
	A, B      string // engine names
	OutA      Outcome
	OutB      Outcome
	TraceA    string
	TraceB    string
	Stream    []Request // the stream up to and including Request
	EngineErr error     // an engine failed outright
}

func (m *Mismatch) Error() string {
	var b strings.Builder
	if m.EngineErr != nil {
		fmt.Fprintf(&b, "request %d %s: %v", m.Index, m.Request, m.EngineErr)
		return b.String()
	}
	fmt.Fprintf(&b, "request %d %s:\n  %-4s %s\n  %-4s %s", m.Index, m.Request, m.A, m.OutA, m.B, m.OutB)
	if m.TraceA != "" {
		fmt.Fprintf(&b, "\ntrace %s:\n%s", m.A, indent(m.TraceA))
	}
	if m.TraceB != "" {
		fmt.Fprintf(&b, "\ntrace %s:\n%s", m.B, indent(m.TraceB))
	}
	return b.String()
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}

// Run resets every engine and feeds them the stream in order, comparing
// each engine with the first one. It returns the first mismatch, or nil.
func Run(engines []Engine, stream []Request) *Mismatch {
	for _, e := range engines {
		if err := e.Reset(); err != nil {
			return &Mismatch{Index: -1, A: e.Name(), EngineErr: fmt.Errorf("%s: reset: %w", e.Name(), err)}
		}
	}
	for i, r := range stream {
		var first Outcome
		for j, e := range engines {
			out, err := e.Decide(r)
			if err != nil {
				return &Mismatch{Index: i, Request: r, A: e.Name(), EngineErr: fmt.Errorf("%s: %w", e.Name(), err), Stream: stream[:i+1]}
			}
			if j == 0 {
				first = out
				continue
			}
			if !out.Same(first) {
				m := &Mismatch{Index: i, Request: r, A: engines[0].Name(), B: e.Name(), OutA: first, OutB: out, Stream: stream[:i+1]}
				if t, ok := engines[0].(Tracer); ok {
					m.TraceA = t.Trace(r)
				}
				if t, ok := e.(Tracer); ok {
					m.TraceB = t.Trace(r)
				}
				return m
			}
		}
	}
	return nil
}

// Shrink returns a shorter stream that still makes the engines disagree:
// it drops chunks of requests, halving the chunk size, while a mismatch
// remains (a simple delta debugging). The last request of the result is
// the one that differs.
func Shrink(engines []Engine, stream []Request) []Request {
	fails := func(s []Request) bool { m := Run(engines, s); return m != nil && m.EngineErr == nil }
	if !fails(stream) {
		return stream
	}
	cur := Run(engines, stream).Stream
	for chunk := len(cur) / 2; chunk >= 1; chunk /= 2 {
		for start := 0; start+chunk < len(cur); {
			cand := append(append([]Request(nil), cur[:start]...), cur[start+chunk:]...)
			if fails(cand) {
				cur = Run(engines, cand).Stream
			} else {
				start += chunk
			}
		}
	}
	return cur
}

// WriteStream writes a stream in the .req format: one request a line,
// "callback addr [user U] [password P]" with Go-quoted strings.
func WriteStream(w io.Writer, stream []Request) error {
	for _, r := range stream {
		if _, err := fmt.Fprintln(w, r.String()); err != nil {
			return err
		}
	}
	return nil
}

// ReadStream parses the .req format written by WriteStream. Blank lines
// and lines starting with # are skipped. A line without a callback word
// picks it from the address, as the route-table tests do.
func ReadStream(rd io.Reader) ([]Request, error) {
	var out []Request
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		r, err := parseRequestLine(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		out = append(out, r)
	}
	return out, sc.Err()
}

func parseRequestLine(line string) (Request, error) {
	var r Request
	word, rest, _ := strings.Cut(line, " ")
	cb, named := route.ParseCallback(word)
	if !named {
		rest, cb = line, 255
	}
	r.Callback = cb
	s, rest, err := unquotePrefix(strings.TrimSpace(rest))
	if err != nil {
		return r, err
	}
	r.Addr = s
	if r.Callback == 255 {
		r.Callback = CallbackOf(s)
	}
	for rest = strings.TrimSpace(rest); rest != ""; rest = strings.TrimSpace(rest) {
		key, after, _ := strings.Cut(rest, " ")
		v, after2, err := unquotePrefix(strings.TrimSpace(after))
		if err != nil {
			return r, err
		}
		switch key {
		case "user":
			r.Cred.Username, r.Cred.HasUsername = v, true
		case "password":
			r.Cred.Password, r.Cred.HasPassword = v, true
		default:
			return r, fmt.Errorf("unknown word %q", key)
		}
		rest = after2
	}
	return r, nil
}

func unquotePrefix(s string) (string, string, error) {
	q, err := strconv.QuotedPrefix(s)
	if err != nil {
		return "", "", fmt.Errorf("expected a quoted string at %q", s)
	}
	v, err := strconv.Unquote(q)
	return v, s[len(q):], err
}

// Package lists reads the plain-text list files of route tables: one value
// per line, `#` comment lines and blank lines skipped, values trimmed. It
// only splits and classifies lines (it is fast on 100 000-line files and
// keeps values as substrings of the input); the route-table compiler
// validates each value for its kind. It must not know about matchers.
package lists

import (
	"strings"
)

// Line is one value of a list file and the line it came from (1-based).
type Line struct {
	Value string
	Line  int32
	Col   int32 // 1-based column of the value
}

// Lines returns the values of data, one per non-blank, non-comment line.
func Lines(data string) []Line {
	n := strings.Count(data, "\n") + 1
	out := make([]Line, 0, n)
	ln := int32(0)
	for len(data) > 0 {
		ln++
		i := strings.IndexByte(data, '\n')
		var line string
		if i < 0 {
			line, data = data, ""
		} else {
			line, data = data[:i], data[i+1:]
		}
		start := 0
		for start < len(line) && isSpace(line[start]) {
			start++
		}
		end := len(line)
		for end > start && isSpace(line[end-1]) {
			end--
		}
		if start == end || line[start] == '#' {
			continue
		}
		out = append(out, Line{Value: line[start:end], Line: ln, Col: int32(start + 1)})
	}
	return out
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' }

// ListKind classifies a line of a `list` file.
type ListKind uint8

// Line kinds of `list` files.
const (
	Domain  ListKind = iota // bare or "domain:" — the name and its subdomains
	Full                    // "full:" — exactly this host
	Regexp                  // "regexp:" — an extended regular expression on "host:port"
	Keyword                 // "keyword:" — a literal substring of "host:port"
)

// Classify splits a `list` line into its kind and value.
func Classify(v string) (ListKind, string) {
	switch {
	case strings.HasPrefix(v, "domain:"):
		return Domain, v[len("domain:"):]
	case strings.HasPrefix(v, "full:"):
		return Full, v[len("full:"):]
	case strings.HasPrefix(v, "regexp:"):
		return Regexp, v[len("regexp:"):]
	case strings.HasPrefix(v, "keyword:"):
		return Keyword, v[len("keyword:"):]
	}
	return Domain, v
}

// prefixLen is the length of a Classify prefix, for column arithmetic.
func prefixLen(k ListKind, orig string) int32 {
	if k == Domain && !strings.HasPrefix(orig, "domain:") {
		return 0
	}
	return int32(strings.IndexByte(orig, ':') + 1)
}

// Split classifies every line of a `list` file. Columns point at the value
// after its prefix.
func Split(lines []Line) (byKind [4][]Line) {
	for _, l := range lines {
		k, v := Classify(l.Value)
		byKind[k] = append(byKind[k], Line{Value: v, Line: l.Line, Col: l.Col + prefixLen(k, l.Value)})
	}
	return byKind
}

// HostsEntry is one name of an /etc/hosts line.
type HostsEntry struct {
	Name string
	IP   Line
}

// Hosts reads /etc/hosts format: an address followed by names, comments
// after `#` anywhere on a line.
func Hosts(data string) []HostsEntry {
	var out []HostsEntry
	for _, l := range Lines(data) {
		v := l.Value
		if i := strings.IndexByte(v, '#'); i >= 0 {
			v = v[:i]
		}
		f := strings.Fields(v)
		if len(f) < 2 {
			out = append(out, HostsEntry{IP: Line{Value: v, Line: l.Line, Col: l.Col}})
			continue
		}
		for _, name := range f[1:] {
			out = append(out, HostsEntry{Name: name, IP: Line{Value: f[0], Line: l.Line, Col: l.Col}})
		}
	}
	return out
}

// EscapePattern quotes s as a Lua pattern that matches it literally
// (every non-alphanumeric byte gets a `%`).
func EscapePattern(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80) {
			b.WriteByte('%')
		}
		b.WriteByte(c)
	}
	return b.String()
}

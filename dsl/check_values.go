package dsl

import (
	"strings"

	"github.com/alecthomas/participle/v2/lexer"

	"github.com/neosocksd-go/neosocksd/core/addr"
)

// Values: strings, upstream values, host names and domains, matcher
// values, prefixes and ports, each validated and put in canonical form.

// nonASCII reports an IDN and suggests its A-label.
func (c *checker) nonASCII(what, s string, pos lexer.Position) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			host := s
			if h, _, err := addr.Split(s); err == nil {
				host = h
			}
			if a, ok := toALabel(host); ok {
				c.d.errorf(pos, "non-ASCII %s %q: write the A-label %q", what, s, a)
			} else {
				c.d.errorf(pos, "non-ASCII %s %q: names are matched byte by byte; write the A-label", what, s)
			}
			return true
		}
	}
	return false
}

func validLabelByte(ch byte) bool {
	return ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_' || ch == '*'
}

// canonDomain lower-cases d and drops empty labels (a leading dot only
// says "and subdomains", which every domain entry means).
func canonDomain(d string) (string, bool) {
	d = addr.Lower(d)
	var b strings.Builder
	n := 0
	for _, l := range strings.Split(d, ".") {
		if l == "" {
			continue
		}
		for i := 0; i < len(l); i++ {
			if !validLabelByte(l[i]) {
				return "", false
			}
		}
		if n > 0 {
			b.WriteByte('.')
		}
		b.WriteString(l)
		n++
	}
	return b.String(), n > 0
}

func patternReason(p string, err error) string {
	msg := err.Error()
	if strings.Contains(msg, "unexpected EOS") || strings.Contains(msg, "malformed") {
		if strings.HasSuffix(p, "%") && !strings.HasSuffix(p, "%%") {
			return "ends with '%'"
		}
		if strings.Count(p, "[") > strings.Count(p, "]") {
			return "missing ']'"
		}
		if strings.Count(p, "(") > strings.Count(p, ")") {
			return "unfinished capture"
		}
	}
	return msg
}

package dsl

import (
	"github.com/neosocksd-go/neosocksd/core/ere"
)

// regexMatcher is a compiled `regex` value: an unanchored search on the
// raw "host:port" string, through the same POSIX ERE translator that the
// Lua `regex` library uses, so the two engines cannot diverge.
type regexMatcher struct {
	re *ere.Regexp
}

// compileRegex compiles a regex the way libruleset's match.regex does:
// regex.compat escapes, then regex.compile with its default flags.
func compileRegex(p string) (*regexMatcher, error) {
	re, err := ere.Compile(ere.Compat(p), ere.Extended|ere.Newline)
	if err != nil {
		return nil, err
	}
	return &regexMatcher{re: re}, nil
}

func (r *regexMatcher) match(s string) (bool, error) { return r.re.MatchString(s) }

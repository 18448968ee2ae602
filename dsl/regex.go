package dsl

import (
	"regexp"
)

// regexMatcher is a compiled `regex` value: an unanchored search on the
// raw "host:port" string.
type regexMatcher struct {
	re *regexp.Regexp
}

// compileRegex compiles an extended regular expression the way
// libruleset's match.regex does (regex.compat escapes, then regex.compile
// with its default flags).
func compileRegex(p string) (*regexMatcher, error) {
	re, err := regexp.CompilePOSIX(p)
	if err != nil {
		return nil, err
	}
	return &regexMatcher{re: re}, nil
}

func (r *regexMatcher) match(s string) (bool, error) { return r.re.MatchString(s), nil }

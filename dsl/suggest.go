package dsl

import suggestpkg "github.com/neosocksd-go/neosocksd/core/suggest"

// "Did you mean" suggestions for unknown names.

func keysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// suggest returns the closest candidate within edit distance 2
// (core/suggest, the distance the configuration's "did you mean" uses).
func suggest(s string, cands []string) string { return suggestpkg.Closest(s, cands, 2) }

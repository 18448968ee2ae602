package config

import "github.com/neosocksd-go/neosocksd/core/suggest"

// IsField reports whether name is a configuration field of the -c table.
func IsField(name string) bool {
	for _, f := range Fields {
		if f.Name == name {
			return true
		}
	}
	return false
}

// Suggest returns the field name closest to name by edit distance, for a
// "did you mean" hint about a misspelt key, or "" when no field is close:
// at most two edits, and fewer than half of name's letters.
func Suggest(name string) string {
	best, bestDist := "", 3
	for _, f := range Fields {
		d := suggest.Distance(name, f.Name)
		if d < bestDist && 2*d < len(name) {
			best, bestDist = f.Name, d
		}
	}
	return best
}

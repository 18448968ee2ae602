package config

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
		d := editDistance(name, f.Name)
		if d < bestDist && 2*d < len(name) {
			best, bestDist = f.Name, d
		}
	}
	return best
}

// editDistance is the Damerau-Levenshtein distance (optimal string
// alignment) between a and b in bytes: insertions, deletions,
// substitutions and swaps of two adjacent bytes each cost one, so the
// usual typos ("listne", "loglvel", "tiemout") are one edit away.
func editDistance(a, b string) int {
	// rows i-2, i-1 and i of the distance matrix
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

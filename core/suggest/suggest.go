// Package suggest finds the "did you mean" candidate for a misspelt name:
// the configuration's keys (core/config) and the names a route table
// refers to (dsl) use the same distance, so a typo is judged alike in
// both.
package suggest

// MaxLen bounds the names Distance compares: the distance costs the
// product of the two lengths, and a name this long is no typo of a short
// one.
const MaxLen = 64

// far is what Distance returns for a name longer than MaxLen.
const far = 1 << 20

// Distance is the optimal string alignment distance between a and b in
// bytes: insertions, deletions, substitutions and swaps of two adjacent
// bytes each cost one, so the usual typos ("listne", "hsot") are one
// edit away. Names longer than MaxLen are far from everything.
func Distance(a, b string) int {
	if len(a) > MaxLen || len(b) > MaxLen {
		return far
	}
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

// Closest returns the candidate nearest to name within maxEdits edits,
// the alphabetically first of equally near ones (so the answer does not
// depend on the candidates' order), or "" when none is that near.
func Closest(name string, cands []string, maxEdits int) string {
	best, bestDist := "", maxEdits+1
	for _, c := range cands {
		if d := Distance(name, c); d < bestDist || (d == bestDist && c < best) {
			best, bestDist = c, d
		}
	}
	return best
}

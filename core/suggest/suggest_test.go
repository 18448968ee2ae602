package suggest

import (
	"strings"
	"testing"
)

func TestDistance(t *testing.T) {
	long := strings.Repeat("a", MaxLen+1)
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "abc", 3},
		{"listen", "listen", 0},
		{"listne", "listen", 1},
		{"lsten", "listen", 1},
		{"listenn", "listen", 1},
		{"lasten", "listen", 1},
		{"hsot", "host", 1},
		{"kitten", "sitting", 3},
		{"ca", "abc", 3},
		{long, long, far},
		{long, "a", far},
	}
	for _, tc := range tests {
		t.Run(tc.a+"/"+tc.b, func(t *testing.T) {
			if got := Distance(tc.a, tc.b); got != tc.want {
				t.Errorf("Distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
			}
			if got := Distance(tc.b, tc.a); got != tc.want {
				t.Errorf("Distance(%q, %q) = %d, want %d (not symmetric)", tc.b, tc.a, got, tc.want)
			}
		})
	}
}

func TestClosest(t *testing.T) {
	cands := []string{"upstream", "proxy", "direct", "reject", "resolve"}
	tests := []struct {
		name string
		max  int
		want string
	}{
		{"prxoy", 2, "proxy"},
		{"rejcet", 2, "reject"},
		{"upstraem", 2, "upstream"},
		{"xyz", 2, ""},
		{"rejet", 0, ""},
		{"rejet", 1, "reject"},
	}
	for _, tc := range tests {
		if got := Closest(tc.name, cands, tc.max); got != tc.want {
			t.Errorf("Closest(%q, max %d) = %q, want %q", tc.name, tc.max, got, tc.want)
		}
	}
	// ties go to the alphabetically first, whatever the order
	for _, cs := range [][]string{{"bat", "cat"}, {"cat", "bat"}} {
		if got := Closest("aat", cs, 2); got != "bat" {
			t.Errorf("Closest(aat, %v) = %q, want bat", cs, got)
		}
	}
}

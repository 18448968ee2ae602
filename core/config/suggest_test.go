package config

import "testing"

func TestEditDistance(t *testing.T) {
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
		{"kitten", "sitting", 3},
		{"ca", "abc", 3},
	}
	for _, tc := range tests {
		t.Run(tc.a+"/"+tc.b, func(t *testing.T) {
			if got := editDistance(tc.a, tc.b); got != tc.want {
				t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
			}
			if got := editDistance(tc.b, tc.a); got != tc.want {
				t.Errorf("editDistance(%q, %q) = %d, want %d (not symmetric)", tc.b, tc.a, got, tc.want)
			}
		})
	}
}

func TestSuggest(t *testing.T) {
	tests := []struct {
		name, want string
	}{
		{"listne", "listen"},
		{"loglvel", "loglevel"},
		{"tiemout", "timeout"},
		{"http-listen", "http_listen"},
		{"max_session", "max_sessions"},
		{"Listen", "listen"},
		{"colour", ""},
		{"ab", ""},
		{"x", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Suggest(tc.name); got != tc.want {
				t.Errorf("Suggest(%q) = %q, want %q", tc.name, got, tc.want)
			}
		})
	}
	if !IsField("listen") || IsField("ruleset") || IsField("listne") {
		t.Error("IsField")
	}
}

package config

import "testing"

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

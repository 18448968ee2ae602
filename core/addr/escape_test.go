package addr

import "testing"

func TestUnescape(t *testing.T) {
	for _, tc := range []struct {
		in          string
		plus, noCtl bool
		want        string
		err         error
	}{
		{"plain", false, true, "plain", nil},
		{"a%20b%2Fc", false, true, "a b/c", nil},
		{"a+b%2b", true, false, "a b+", nil},
		{"a+b", false, false, "a+b", nil},
		{"%4", false, false, "", ErrBadEscape},
		{"%", false, false, "", ErrBadEscape},
		{"%g0", false, false, "", ErrBadEscape},
		{"%0A", false, false, "\n", nil},
		{"%0A", false, true, "", ErrControl},
		{"a\x7f", false, true, "", ErrControl},
		{"\x01%zz", false, true, "", ErrControl},
		{"%zz\x01", false, true, "", ErrBadEscape},
	} {
		got, err := Unescape(tc.in, tc.plus, tc.noCtl)
		if got != tc.want || err != tc.err {
			t.Errorf("Unescape(%q, %v, %v) = %q, %v; want %q, %v", tc.in, tc.plus, tc.noCtl, got, err, tc.want, tc.err)
		}
	}
	for c, want := range map[byte]int{'0': 0, '9': 9, 'a': 10, 'F': 15, 'g': -1, '/': -1} {
		if got := Unhex(c); got != want {
			t.Errorf("Unhex(%q) = %d, want %d", c, got, want)
		}
	}
}

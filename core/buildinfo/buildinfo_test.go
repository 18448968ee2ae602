package buildinfo

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestFrom(t *testing.T) {
	platform := " " + runtime.GOOS + "/" + runtime.GOARCH
	tests := []struct {
		name string
		bi   debug.BuildInfo
		want string
	}{
		{
			name: "checkout with changes",
			bi: debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
				{Key: "vcs", Value: "git"},
				{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
				{Key: "vcs.modified", Value: "true"},
			}},
			want: "dev, revision 0123456789abcdef0123456789abcdef01234567 (modified), go1.26.8" + platform,
		},
		{
			name: "clean checkout",
			bi: debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
				{Key: "vcs.revision", Value: "89abcdef"},
				{Key: "vcs.modified", Value: "false"},
			}},
			want: "dev, revision 89abcdef, go1.26.8" + platform,
		},
		{
			name: "installed at a version",
			bi:   debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}},
			want: "v1.2.3, revision unknown, go1.26.8" + platform,
		},
		{
			name: "no vcs stamp",
			bi:   debug.BuildInfo{GoVersion: "go1.26.8"},
			want: "dev, revision unknown, go1.26.8" + platform,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := From(&tc.bi).String(); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

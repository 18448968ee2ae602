// Package buildinfo says what a binary was built from: the module version
// and the version-control revision that the go command records in every
// binary it builds. The commands print it for --version. It reads only the
// running binary's own build information.
package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// Info is what a binary was built from.
type Info struct {
	// Version is the module version: "v1.2.3" for go install
	// module@v1.2.3; in a git clone, a pseudo-version made from the commit
	// ("v0.0.0-20261204223719-c24afe0e57a4", "+dirty" with uncommitted
	// changes); "dev" when the go command recorded none.
	Version string
	// Revision is the commit the checkout was at (vcs.revision), or "" when
	// the build recorded none: built outside a repository, with
	// -buildvcs=false, or from a git worktree, which the go command does
	// not recognise as a repository.
	Revision string
	// Modified reports uncommitted changes in the checkout (vcs.modified).
	Modified bool
	// GoVersion is the Go release the binary was built with.
	GoVersion string
}

// Read returns the running binary's build information.
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Info{Version: "dev", GoVersion: runtime.Version()}
	}
	return From(bi)
}

// From extracts an Info from bi.
func From(bi *debug.BuildInfo) Info {
	i := Info{Version: "dev", GoVersion: bi.GoVersion}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		i.Version = v
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			i.Revision = s.Value
		case "vcs.modified":
			i.Modified = s.Value == "true"
		}
	}
	return i
}

// String is the --version text after the program's name, for example
// "dev, revision 0123abcd... (modified), go1.26.8 linux/amd64".
func (i Info) String() string {
	s := i.Version + ", revision "
	if i.Revision == "" {
		s += "unknown"
	} else {
		s += i.Revision
		if i.Modified {
			s += " (modified)"
		}
	}
	return s + ", " + i.GoVersion + " " + runtime.GOOS + "/" + runtime.GOARCH
}

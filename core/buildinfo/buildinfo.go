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
	// Version is the module version ("v1.2.3") of a binary built with go
	// install module@version, or "dev" for one built inside a checkout.
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

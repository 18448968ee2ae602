package main

import (
	"fmt"
	"io"

	"github.com/neosocksd-go/neosocksd/core/buildinfo"
)

// version is "dev" or the module version the binary was built from, as the
// usage banner, the start-up log and neosocksd_build_info show it.
var version = buildinfo.Read().Version

// printVersion writes the --version line: the version, the revision built
// from and the Go release.
func printVersion(w io.Writer) {
	fmt.Fprintln(w, "neosocksd "+buildinfo.Read().String())
}

//go:build netcgo

package dial

// netcgoTag: the build asks Go's resolver to always use the C library's,
// so the hosts file is never answered here.
const netcgoTag = true

//go:build !netcgo

package dial

// netcgoTag: the build does not force the C library's resolver.
const netcgoTag = false

// Package bounced carries what the bounced binary needs besides its code:
// the sample bounces of testdata/bounces, embedded so that `bounced demo`
// works from an installed binary in any directory. The command itself is
// cmd/bounced.
package bounced

import (
	"embed"
	"io/fs"
)

// The .eml files only: the golden files beside them are for the tests.
//
//go:embed testdata/bounces/*/*.eml
var samples embed.FS

// Samples returns the sample mails, rooted at testdata/bounces
// (FAMILY/CASE.eml).
func Samples() fs.FS {
	sub, err := fs.Sub(samples, "testdata/bounces")
	if err != nil { // only for an invalid path, and this one is valid
		return samples
	}
	return sub
}

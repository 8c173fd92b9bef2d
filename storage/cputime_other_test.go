//go:build !unix

package storage

import "time"

// cpuTime is not measured here: the CPU metric is left out.
func cpuTime() time.Duration { return 0 }

//go:build !unix

package poller

import "time"

// cpuTime is not measured here: the CPU metric is left out.
func cpuTime() time.Duration { return 0 }

package cputime

import (
	"runtime"
	"testing"
	"time"
)

func TestProcessAdvances(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("not measured on " + runtime.GOOS)
	}
	before := Process()
	deadline := time.Now().Add(50 * time.Millisecond)
	x := 0
	for time.Now().Before(deadline) {
		x++
	}
	if after := Process(); after <= before {
		t.Fatalf("CPU time did not advance over 50 ms of work: %v then %v (%d loops)", before, after, x)
	}
}

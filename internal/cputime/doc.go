// Package cputime reads the CPU time of the process, so that a benchmark
// can report CPU per operation, which the load of a shared machine
// disturbs less than elapsed time. The benchmarks of classify, storage and
// poller use it.
package cputime

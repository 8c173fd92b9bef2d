package poller

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// serverCPU is the CPU time (user and system) used so far by the Dovecot
// of scripts/dovecot whose directory is IMAP_DOVECOT_DIR: its master
// process and every live descendant, each with the time of the children
// it has reaped (an imap process that ended is counted in its parent). ok
// is false when that Dovecot is not known. The kernel counts in ticks of
// 10 ms (USER_HZ 100).
func serverCPU() (d time.Duration, ok bool) {
	dir := os.Getenv("IMAP_DOVECOT_DIR")
	if dir == "" {
		return 0, false
	}
	b, err := os.ReadFile(filepath.Join(dir, "run", "master.pid"))
	if err != nil {
		return 0, false
	}
	master, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, false
	}
	type proc struct {
		ppid  int
		ticks int64
	}
	procs := map[int]proc{}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, false
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The command name, in parentheses, may hold blanks: the fields
		// are counted after its closing parenthesis (proc(5): state is
		// field 3, ppid 4, utime 14, stime 15, cutime 16, cstime 17).
		i := strings.LastIndexByte(string(stat), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 15 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		var ticks int64
		for _, v := range f[11:15] {
			n, _ := strconv.ParseInt(v, 10, 64)
			ticks += n
		}
		procs[pid] = proc{ppid, ticks}
	}
	if _, ok := procs[master]; !ok {
		return 0, false
	}
	var total int64
	for pid, p := range procs {
		for q := pid; q > 1; q = procs[q].ppid {
			if q == master {
				total += p.ticks
				break
			}
			if _, ok := procs[q]; !ok {
				break
			}
		}
	}
	return time.Duration(total) * 10 * time.Millisecond, true
}

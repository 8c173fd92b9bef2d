package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const unitPath = "../../configs/bounced.service"

// unitFile is a systemd unit: section -> key -> values (a key may repeat).
type unitFile map[string]map[string][]string

func parseUnit(data []byte) (unitFile, error) {
	u := unitFile{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[' && line[len(line)-1] == ']':
			section = line[1 : len(line)-1]
			u[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" || strings.HasSuffix(line, `\`) {
				return nil, errors.New("line " + sc.Text() + ": want KEY=VALUE inside a section, on one line")
			}
			k = strings.TrimSpace(k)
			u[section][k] = append(u[section][k], strings.TrimSpace(v))
		}
	}
	return u, sc.Err()
}

// last is the value that counts for a key given once or more.
func (u unitFile) last(section, key string) string {
	vs := u[section][key]
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

// TestServiceUnit checks the keys configs/bounced.service must have: its
// own user, a state directory, the hardening the README promises, a secret
// that bounced itself never reads from a world-readable place, reload by
// SIGHUP, no restart loop on a config error, time for the graceful stop,
// and an ExecStart that bounced accepts.
func TestServiceUnit(t *testing.T) {
	data, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	u, err := parseUnit(data)
	if err != nil {
		t.Fatalf("%s: %v", unitPath, err)
	}
	want := []struct{ section, key, value string }{
		{"Service", "StateDirectory", "bounced"},
		{"Service", "ProtectSystem", "strict"},
		{"Service", "NoNewPrivileges", "yes"},
		{"Service", "PrivateTmp", "yes"},
		{"Service", "ProtectHome", "yes"},
		{"Service", "PrivateDevices", "yes"},
		{"Service", "CapabilityBoundingSet", ""},
		{"Service", "ExecReload", "/bin/kill -HUP $MAINPID"},
		{"Service", "Restart", "on-failure"},
		{"Service", "RestartPreventExitStatus", "2"},
		{"Install", "WantedBy", "multi-user.target"},
	}
	for _, w := range want {
		if _, ok := u[w.section][w.key]; !ok || u.last(w.section, w.key) != w.value {
			t.Errorf("[%s] %s = %q, want %q", w.section, w.key, u.last(w.section, w.key), w.value)
		}
	}
	if u.last("Service", "DynamicUser") != "yes" && (u.last("Service", "User") == "" || u.last("Service", "User") == "root") {
		t.Errorf("[Service] runs as %q: want DynamicUser=yes or a User= of its own", u.last("Service", "User"))
	}
	if len(u["Service"]["LoadCredential"]) == 0 && len(u["Service"]["EnvironmentFile"]) == 0 {
		t.Error("[Service] has neither LoadCredential= nor EnvironmentFile= for the password")
	}
	if !slices.Contains(strings.Fields(u.last("Unit", "After")), "network-online.target") {
		t.Errorf("[Unit] After = %q, want network-online.target in it", u.last("Unit", "After"))
	}
	// The stop: the poller's grace is 30s per network step after the
	// first signal, then it commits and moves; systemd must not kill first.
	stop, err := time.ParseDuration(u.last("Service", "TimeoutStopSec"))
	if err != nil || stop <= 30*time.Second {
		t.Errorf("[Service] TimeoutStopSec = %q: want more than the 30s grace", u.last("Service", "TimeoutStopSec"))
	}

	cmdline := strings.Fields(u.last("Service", "ExecStart"))
	if len(cmdline) < 2 || !filepath.IsAbs(cmdline[0]) || filepath.Base(cmdline[0]) != "bounced" || cmdline[1] != "run" {
		t.Fatalf("[Service] ExecStart = %q, want /ABSOLUTE/PATH/bounced run ...", u.last("Service", "ExecStart"))
	}
	args := cmdline[1:]
	if !slices.Contains(args, "--config") {
		t.Errorf("ExecStart %q names no --config", args)
	}
	// Every flag of ExecStart exists: run stops at -h after parsing them.
	out, errOut, code := runCmd(t, "", append(slices.Clone(args), "-h")...)
	if code != 0 || !strings.Contains(out, "Usage: bounced run") {
		t.Errorf("bounced %q -h: exit %d\n%s%s", args, code, out, errOut)
	}
}

// TestServiceUnitVerifies runs systemd-analyze verify on the unit (with
// ExecStart pointing at this test binary, which exists), when the tool is
// installed; a warning naming the unit fails the test.
func TestServiceUnitVerifies(t *testing.T) {
	tool, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	unit := filepath.Join(dir, "bounced.service")
	data = bytes.ReplaceAll(data, []byte("ExecStart=/usr/local/bin/bounced "), []byte("ExecStart="+exe+" "))
	if err := os.WriteFile(unit, data, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, tool, "verify", unit).CombinedOutput()
	var about []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "bounced.service") {
			about = append(about, l)
		}
	}
	if err != nil || len(about) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bounced/bounced"
)

// TestSecondSignalExitsAtOnce runs main in a child process (this test
// binary again) whose first run hangs on a server that never greets: the
// first signal only stops taking work (the connection would be cut after
// the 30 s grace), the second, sent right after it, exits at once with
// status 1.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	if args := os.Getenv("BOUNCED_TEST_MAIN"); args != "" {
		os.Args = append([]string{"bounced"}, strings.Split(args, "\n")...)
		main()
		return
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- c // says nothing
		}
	}()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bounced.toml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, `db = %q
[[mailbox]]
name = "silent"
host = "127.0.0.1"
port = %d
tls = "none"
username = "u"
password_env = "BOUNCED_TEST_PASSWORD"
schedule = "@every 1h"
timeout = "1h"
`, filepath.Join(dir, "bounced.db"), ln.Addr().(*net.TCPAddr).Port), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSecondSignalExitsAtOnce$")
	cmd.Env = append(os.Environ(), "BOUNCED_TEST_MAIN=run\n--config\n"+cfg, "BOUNCED_TEST_PASSWORD=p")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case c := <-accepted: // the run at start is connected, waiting for a greeting
		defer c.Close()
	case err := <-exited:
		t.Fatalf("the daemon ended before connecting: %v\n%s", err, stderr.String())
	}
	// Two different signals: the kernel would merge two pending SIGTERMs.
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-exited:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(stderr.String(), "second signal") {
			t.Errorf("after two signals: %v, want exit status 1 and a word on stderr:\n%s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		<-exited
		t.Fatalf("still running 15s after the second signal (the grace is 30s):\n%s", stderr.String())
	}
}

// TestReloadOnSIGHUP runs the daemon in a child process and reloads it
// with real signals: a mailbox added to the file runs, a broken file is
// refused with a logged reason while the daemon goes on, and SIGTERM still
// stops it cleanly.
func TestReloadOnSIGHUP(t *testing.T) {
	srv, err := startDemoServer(sampleMails())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.user.Create("Two", nil); err != nil {
		t.Fatal(err)
	}
	srv.Append("Two", sampleMails()[1])
	dir := t.TempDir()
	cfg, db := filepath.Join(dir, "bounced.toml"), filepath.Join(dir, "bounced.db")
	daemonConfig(t, cfg, db, srv, "", "one INBOX")

	cmd := exec.Command(os.Args[0], "-test.run=^TestSecondSignalExitsAtOnce$")
	cmd.Env = append(os.Environ(), "BOUNCED_TEST_MAIN=run\n--config\n"+cfg, "BOUNCED_TEST_PASSWORD="+srv.Pass)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := make(chan string, 256)
	var logs strings.Builder
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	// await reads the log until a line holds every part.
	await := func(parts ...string) {
		t.Helper()
		timeout := time.After(30 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("the daemon ended before logging %q:\n%s", parts, logs.String())
				}
				logs.WriteString(l + "\n")
				all := true
				for _, p := range parts {
					all = all && strings.Contains(l, p)
				}
				if all {
					return
				}
			case <-timeout:
				t.Fatalf("no log line with %q within 30s:\n%s", parts, logs.String())
			}
		}
	}
	await(`"msg":"run done"`, `"mailbox":"one"`)

	daemonConfig(t, cfg, db, srv, "", "one INBOX", "two Two")
	cmd.Process.Signal(syscall.SIGHUP)
	await(`"msg":"config reloaded"`, `"added":["two"]`, `"kept":["one"]`)
	await(`"msg":"run done"`, `"mailbox":"two"`, `"fetched":1`)

	daemonConfig(t, cfg, db, srv, "", "one INBOX", "two Two", "two Two")
	cmd.Process.Signal(syscall.SIGHUP)
	await(`"level":"ERROR"`, `"msg":"reload failed, keeping the running config"`, `"problems":[`, `two`)

	cmd.Process.Signal(syscall.SIGTERM)
	await(`"msg":"bounced stopped"`)
	for range lines {
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("after SIGTERM: %v, want exit status 0:\n%s", err, logs.String())
	}
}

// TestDemoAnywhere runs `bounced demo` in a child process whose working
// directory is an empty one: the sample mails are built into the binary.
func TestDemoAnywhere(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	err = fs.WalkDir(bounced.Samples(), ".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return err
	})
	if err != nil || n == 0 {
		t.Fatalf("built-in samples: %d, %v", n, err)
	}
	cmd := exec.Command(exe, "-test.run=^TestSecondSignalExitsAtOnce$")
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "BOUNCED_TEST_MAIN=demo", "TMPDIR="+t.TempDir())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("demo in %s: %v\n%s%s", cmd.Dir, err, stdout.String(), stderr.String())
	}
	for _, want := range []string{
		fmt.Sprintf("holds %d sample mails from the built-in samples", n),
		fmt.Sprintf("demo: fetched %d, ", n),
		fmt.Sprintf(", disposed %d, ", n),
		"== bounced report",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, stdout.String())
		}
	}
	if entries, _ := os.ReadDir(cmd.Dir); len(entries) != 0 {
		t.Errorf("demo left files in its working directory: %v", entries)
	}
}

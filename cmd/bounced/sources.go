package main

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bounced/bounced/classify"
)

// maxFileSize bounds what one local file may hold (an mbox can be large;
// a single mail is bounded again by the classifier).
const maxFileSize = 1 << 30

// mail is one message read from a local source.
type mail struct {
	Source string // the path as given or walked; "-" for stdin
	Index  int    // message number inside an mbox, 1 for a single mail
	Raw    []byte
}

// walkMail calls fn for every message under paths: files, directories
// (walked in name order; in a maildir only the mail in cur/ and new/ is
// read, and folders whose name starts with a dot are skipped, as are dot
// files), mboxes (split into their messages) and "-" for stdin. A path that cannot be read is
// reported to onErr and the walk goes on; walkMail returns the first error
// that fn returns.
func walkMail(paths []string, stdin io.Reader, fn func(m mail) error, onErr func(path string, err error)) error {
	for _, p := range paths {
		if p == "-" {
			data, err := io.ReadAll(io.LimitReader(stdin, maxFileSize))
			if err != nil {
				onErr(p, err)
				continue
			}
			if err := emitMail(p, data, fn); err != nil {
				return err
			}
			continue
		}
		info, err := os.Stat(p)
		if err != nil {
			onErr(p, err)
			continue
		}
		if !info.IsDir() {
			if err := readMailFile(p, fn, onErr); err != nil {
				return err
			}
			continue
		}
		var files []string
		maildirs := map[string]bool{}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				onErr(path, err)
				if d != nil && d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			name := d.Name()
			if path != p && strings.HasPrefix(name, ".") {
				if d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if d.IsDir() {
				if isMaildir(path) {
					maildirs[path] = true
				}
				// A maildir's tmp/ holds mail still being delivered.
				if name == "tmp" && maildirs[filepath.Dir(path)] {
					return fs.SkipDir
				}
				return nil
			}
			// Beside cur/ and new/, a maildir holds the server's own files
			// (dovecot.index, dovecot-uidlist, maildirfolder...): no mail.
			if maildirs[filepath.Dir(path)] {
				return nil
			}
			if !d.Type().IsRegular() || skipWalked(name) {
				return nil
			}
			files = append(files, path)
			return nil
		})
		if err != nil {
			onErr(p, err)
		}
		sort.Strings(files)
		for _, f := range files {
			if err := readMailFile(f, fn, onErr); err != nil {
				return err
			}
		}
	}
	return nil
}

// isMaildir tells a maildir: a directory with cur/ and new/ in it.
func isMaildir(dir string) bool {
	for _, sub := range []string{"cur", "new"} {
		fi, err := os.Stat(filepath.Join(dir, sub))
		if err != nil || !fi.IsDir() {
			return false
		}
	}
	return true
}

// skipWalked tells the files inside a walked directory that are no mail:
// golden files, licences and notes beside test mail.
func skipWalked(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".json", ".jsonl", ".md", ".go", ".toml", ".db", ".gz":
		return true
	}
	// SQLite's companions of a database kept beside the mail.
	for _, suf := range []string{".db-wal", ".db-shm", ".db-journal"} {
		if strings.HasSuffix(name, suf) {
			return true
		}
	}
	return name == "LICENSE" || name == "README"
}

func readMailFile(path string, fn func(m mail) error, onErr func(string, error)) error {
	f, err := os.Open(path)
	if err != nil {
		onErr(path, err)
		return nil
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		onErr(path, err)
		return nil
	}
	if len(data) > maxFileSize {
		onErr(path, fmt.Errorf("larger than %d bytes", maxFileSize))
		return nil
	}
	return emitMail(path, data, fn)
}

func emitMail(source string, data []byte, fn func(m mail) error) error {
	if !classify.IsMbox(data) {
		return fn(mail{Source: source, Index: 1, Raw: data})
	}
	for i, m := range classify.SplitMbox(data) {
		if err := fn(mail{Source: source, Index: i + 1, Raw: m}); err != nil {
			return err
		}
	}
	return nil
}

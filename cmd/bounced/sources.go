package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bounced/bounced/classify"
	"github.com/bounced/bounced/configs"
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

// Bounds of local reading (import, classify). A single mail above maxMail
// is reported and skipped unread, as poll skips it; a file up to
// inMemoryFile is read whole (an mbox split in memory); a larger mbox is
// streamed message by message, each bounded by maxMail, so that memory
// stays bounded whatever the file's size.
const maxMail = configs.DefaultMaxMessage

var inMemoryFile int64 = 64 << 20 // a variable for the tests

func readMailFile(path string, fn func(m mail) error, onErr func(string, error)) error {
	f, err := os.Open(path)
	if err != nil {
		onErr(path, err)
		return nil
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		onErr(path, err)
		return nil
	}
	if fi.Size() > inMemoryFile {
		return streamMail(path, f, fn, onErr)
	}
	// Room for the whole file at once: io.ReadAll would grow its buffer
	// from 512 bytes, copying the mail several times.
	var buf bytes.Buffer
	buf.Grow(int(fi.Size()) + bytes.MinRead)
	if _, err := buf.ReadFrom(io.LimitReader(f, inMemoryFile+1)); err != nil {
		onErr(path, err)
		return nil
	}
	data := buf.Bytes()
	if int64(len(data)) > inMemoryFile {
		return streamMail(path, io.MultiReader(bytes.NewReader(data), f), fn, onErr)
	}
	if !classify.IsMbox(data) && len(data) > maxMail {
		onErr(path, fmt.Errorf("skipped: %d bytes, larger than the limit of %d for one mail", len(data), maxMail))
		return nil
	}
	return emitMail(path, data, fn)
}

// streamMail reads a large file: an mbox message by message (a "From "
// line at the start or after a blank line separates them, as
// classify.SplitMbox reads them), each message above maxMail reported and
// skipped; anything else is one mail, skipped when above maxMail.
func streamMail(path string, r io.Reader, fn func(m mail) error, onErr func(string, error)) error {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(5)
	if !classify.IsMbox(head) {
		onErr(path, fmt.Errorf("skipped: larger than the limit of %d bytes for one mail", maxMail))
		return nil
	}
	var cur []byte
	index, size := 0, 0
	tooLarge, prevBlank := false, true
	emit := func() error {
		if index == 0 {
			return nil
		}
		if tooLarge {
			onErr(fmt.Sprintf("%s#%d", path, index), fmt.Errorf("skipped: %d bytes, larger than the limit of %d for one mail", size, maxMail))
			return nil
		}
		for _, m := range classify.SplitMbox(cur) {
			if err := fn(mail{Source: path, Index: index, Raw: m}); err != nil {
				return err
			}
		}
		return nil
	}
	continued := false // the line read is the rest of a longer one
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			if !continued && prevBlank && bytes.HasPrefix(line, []byte("From ")) {
				if eerr := emit(); eerr != nil {
					return eerr
				}
				index++
				cur, size, tooLarge = nil, 0, false // fn may keep the last message's bytes
			}
			size += len(line)
			tooLarge = tooLarge || size > maxMail
			if !tooLarge {
				cur = append(cur, line...)
			}
			if !continued || errors.Is(err, bufio.ErrBufferFull) {
				prevBlank = !errors.Is(err, bufio.ErrBufferFull) && len(bytes.TrimRight(line, "\r\n")) == 0
			}
		}
		continued = errors.Is(err, bufio.ErrBufferFull)
		if continued {
			prevBlank = false
			continue
		}
		if err == io.EOF {
			return emit()
		}
		if err != nil {
			onErr(path, err)
			return emit()
		}
	}
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

package bounced

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestSamplesEmbedEveryFixture: every .eml under testdata/bounces is in
// the binary, byte for byte (a fixture in a deeper directory would be
// missed by the embed pattern).
func TestSamplesEmbedEveryFixture(t *testing.T) {
	var onDisk []string
	err := filepath.WalkDir(filepath.Join("testdata", "bounces"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".eml") {
			rel, _ := filepath.Rel(filepath.Join("testdata", "bounces"), path)
			onDisk = append(onDisk, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var embedded []string
	err = fs.WalkDir(Samples(), ".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			embedded = append(embedded, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(onDisk)
	if len(onDisk) == 0 || !slices.Equal(embedded, onDisk) {
		t.Fatalf("embedded samples %q, want the .eml files of testdata/bounces %q", embedded, onDisk)
	}
	for _, p := range onDisk {
		want, err := os.ReadFile(filepath.Join("testdata", "bounces", filepath.FromSlash(p)))
		if err != nil {
			t.Fatal(err)
		}
		got, err := fs.ReadFile(Samples(), p)
		if err != nil || string(got) != string(want) {
			t.Errorf("embedded %s differs from the file (err %v)", p, err)
		}
	}
}

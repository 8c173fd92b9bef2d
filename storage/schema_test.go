package storage

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite storage/testdata/schema.sql")

// TestSchemaGolden keeps the migrated schema in one file,
// testdata/schema.sql, so that a schema change shows in review as a diff
// of the whole schema. `go test ./storage -run TestSchemaGolden -update`
// rewrites it.
func TestSchemaGolden(t *testing.T) {
	db, _ := openTest(t, Options{})
	rows, err := db.sql.QueryContext(context.Background(),
		`SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY type, name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	b.WriteString("-- The schema after every migration, as SQLite stores it (sqlite_master).\n")
	b.WriteString("-- Generated: go test ./storage -run TestSchemaGolden -update. Do not edit.\n")
	for rows.Next() {
		var typ, name, sql string
		if err := rows.Scan(&typ, &name, &sql); err != nil {
			t.Fatal(err)
		}
		b.WriteString("\n-- " + typ + " " + name + "\n" + strings.TrimSpace(sql) + ";\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "schema.sql")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s (run with -update to create it): %v", path, err)
	}
	if string(want) != b.String() {
		t.Errorf("the migrated schema differs from %s: a migration changed it; review and rewrite it with -update", path)
	}
}

package classify

import (
	"go/build"
	"strings"
	"testing"
)

// TestImports asserts the package's purity: it imports the standard
// library and go-message only (no I/O packages of the project, no
// logging, no database).
func TestImports(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if strings.HasPrefix(imp, "github.com/emersion/go-message") {
			continue
		}
		if strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") {
			t.Errorf("classify imports %q: only go-message and the standard library are allowed", imp)
		}
		switch imp {
		case "log", "log/slog", "os", "os/exec", "net/http", "database/sql", "time/tzdata":
			t.Errorf("classify imports %q: it must do no I/O and no logging", imp)
		}
	}
}

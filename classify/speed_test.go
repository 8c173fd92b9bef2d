package classify

import (
	"bytes"
	"io"
	"mime/quotedprintable"
	"strings"
	"testing"
)

func TestDecodeQP(t *testing.T) {
	tests := []struct{ in, want string }{
		{"caf=C3=A9 ok", "café ok"},
		{"soft=\nbreak", "softbreak"},
		{"soft=  \nbreak after blanks", "softbreak after blanks"},
		{"padding   \nnext", "padding\nnext"},
		{"encoded blank=20\nkept", "encoded blank \nkept"},
		{"lower =c3=a9 hex", "lower é hex"},
		{"not an escape =ZZ and the rest", "not an escape =ZZ and the rest"},
		{"= at the end=", "= at the end"},
		{"crlf=\r\nsoft", "crlfsoft"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := string(decodeQP([]byte(tt.in))); got != tt.want {
			t.Errorf("decodeQP(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestDecodeQPAgreesWithStdlib compares decodeQP with mime/quotedprintable
// on input the standard decoder accepts.
func TestDecodeQPAgreesWithStdlib(t *testing.T) {
	for _, in := range []string{
		"Hello=2C world=21\nline two   \n=E3=81=82=E3=81=84\n",
		"a long line that is wrapped=\n here and=\n there\n",
		"tab\tinside and trailing\t\n",
		"550 5.1.1 <a@b.example>: Recipient address rejected: User unknown in local=\n recipient table\n",
	} {
		want, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(in)))
		if err != nil {
			t.Fatalf("stdlib on %q: %v", in, err)
		}
		if got := decodeQP([]byte(in)); !bytes.Equal(got, want) {
			t.Errorf("decodeQP(%q) = %q, mime/quotedprintable gives %q", in, got, want)
		}
	}
}

func TestIndexFold(t *testing.T) {
	tests := []struct {
		s, needle string
		want      int
	}{
		{"The Transcript Of Session follows", "transcript of session", 4},
		{"no match here", "transcript", -1},
		{"tttttT transcript", "transcript", 7},
		{"TRANSCRIPT", "transcript", 0},
		{"short", "much longer needle", -1},
		{"x", "", 0},
		{"<STYLE>a</style>", "</style", 8},
		{"1234 5.1.1", "5.1", 5},
	}
	for _, tt := range tests {
		if got := indexFold(tt.s, tt.needle); got != tt.want {
			t.Errorf("indexFold(%q, %q) = %d, want %d", tt.s, tt.needle, got, tt.want)
		}
	}
}
